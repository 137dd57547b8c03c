package rolebinding

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// binding is what the projection needs of a ScimRoleBinding or a
// ScimClusterRoleBinding, so both kinds share one reconcile path.
type binding interface {
	client.Object
	kind() string
	endpoint() client.ObjectKey
	group() scimv1.GroupReference
	roleRef() scimv1.RoleRef
	subjects() scimv1.Subjects
	target() scimv1.BindingTarget
	status() *scimv1.BindingStatus
	// object is the underlying API object, for client calls and events.
	object() client.Object
}

type namespaced struct{ *scimv1.ScimRoleBinding }

func (b namespaced) kind() string { return "ScimRoleBinding" }
func (b namespaced) endpoint() client.ObjectKey {
	return client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.Endpoint}
}
func (b namespaced) group() scimv1.GroupReference { return b.Spec.Group }
func (b namespaced) roleRef() scimv1.RoleRef      { return b.Spec.RoleRef }
func (b namespaced) subjects() scimv1.Subjects    { return b.Spec.Subjects }

// target of a namespaced binding is always, and only, its own namespace.
func (b namespaced) target() scimv1.BindingTarget {
	return scimv1.BindingTarget{Namespaces: []string{b.Namespace}}
}
func (b namespaced) status() *scimv1.BindingStatus { return &b.Status }
func (b namespaced) object() client.Object         { return b.ScimRoleBinding }

type clusterScoped struct{ *scimv1.ScimClusterRoleBinding }

func (b clusterScoped) kind() string { return "ScimClusterRoleBinding" }
func (b clusterScoped) endpoint() client.ObjectKey {
	return client.ObjectKey{Namespace: b.Spec.Endpoint.Namespace, Name: b.Spec.Endpoint.Name}
}
func (b clusterScoped) group() scimv1.GroupReference  { return b.Spec.Group }
func (b clusterScoped) roleRef() scimv1.RoleRef       { return b.Spec.RoleRef }
func (b clusterScoped) subjects() scimv1.Subjects     { return b.Spec.Subjects }
func (b clusterScoped) target() scimv1.BindingTarget  { return b.Spec.Target }
func (b clusterScoped) status() *scimv1.BindingStatus { return &b.Status }
func (b clusterScoped) object() client.Object         { return b.ScimClusterRoleBinding }
