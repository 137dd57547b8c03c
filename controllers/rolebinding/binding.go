package rolebinding

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// binding is what the projection needs of a ScimRoleBinding, a
// ScimClusterRoleBinding or a ScimEntitlement, so the three kinds share one
// reconcile path. The two binding kinds grant one role to the active members
// of a group; an entitlement grants its roles to the active users whose SCIM
// roles name it.
type binding interface {
	client.Object
	kind() string
	endpoint() client.ObjectKey
	// group is the SCIM group whose members are granted; only when
	// entitlement() is "".
	group() scimv1.GroupReference
	// entitlement is the SCIM role value the grant follows, "" for the
	// binding kinds.
	entitlement() string
	grants() []grant
	subjects() scimv1.Subjects
	status() *scimv1.BindingStatus
	// object is the underlying API object, for client calls and events.
	object() client.Object
}

// grant is one role a binding grants, where, and the name prefix of the
// RoleBindings or ClusterRoleBindings that carry it: shard n is prefix+n.
type grant struct {
	roleRef scimv1.RoleRef
	target  scimv1.BindingTarget
	prefix  string
}

func (g grant) String() string { return g.roleRef.Kind + " " + g.roleRef.Name }

type namespaced struct{ *scimv1.ScimRoleBinding }

func (b namespaced) kind() string { return "ScimRoleBinding" }
func (b namespaced) endpoint() client.ObjectKey {
	ref := b.EndpointRef()
	return client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
}
func (b namespaced) group() scimv1.GroupReference { return b.Spec.Group }
func (b namespaced) entitlement() string          { return "" }
func (b namespaced) subjects() scimv1.Subjects    { return b.Spec.Subjects }

// grants of a namespaced binding: its role in its own namespace, always and only.
func (b namespaced) grants() []grant {
	return []grant{{roleRef: b.Spec.RoleRef, target: scimv1.BindingTarget{Namespaces: []string{b.Namespace}},
		prefix: "scim-rb-" + b.Name + "-"}}
}
func (b namespaced) status() *scimv1.BindingStatus { return &b.Status }
func (b namespaced) object() client.Object         { return b.ScimRoleBinding }

type clusterScoped struct{ *scimv1.ScimClusterRoleBinding }

func (b clusterScoped) kind() string { return "ScimClusterRoleBinding" }
func (b clusterScoped) endpoint() client.ObjectKey {
	return client.ObjectKey{Namespace: b.Spec.Endpoint.Namespace, Name: b.Spec.Endpoint.Name}
}
func (b clusterScoped) group() scimv1.GroupReference { return b.Spec.Group }
func (b clusterScoped) entitlement() string          { return "" }
func (b clusterScoped) subjects() scimv1.Subjects    { return b.Spec.Subjects }
func (b clusterScoped) grants() []grant {
	return []grant{{roleRef: b.Spec.RoleRef, target: b.Spec.Target, prefix: "scim-crb-" + b.Name + "-"}}
}
func (b clusterScoped) status() *scimv1.BindingStatus { return &b.Status }
func (b clusterScoped) object() client.Object         { return b.ScimClusterRoleBinding }

type entitled struct{ *scimv1.ScimEntitlement }

func (b entitled) kind() string { return "ScimEntitlement" }
func (b entitled) endpoint() client.ObjectKey {
	ref := b.EndpointRef()
	return client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
}
func (b entitled) group() scimv1.GroupReference { return scimv1.GroupReference{} }
func (b entitled) entitlement() string          { return b.RoleID() }
func (b entitled) subjects() scimv1.Subjects    { return b.Spec.Subjects }

// grants of an entitlement: each of spec.grants, its children named
// scim-en-<role id>-<grant index>-<shard> (the role id is unique per
// endpoint, where the name is unique per namespace).
func (b entitled) grants() []grant {
	out := make([]grant, len(b.Spec.Grants))
	for i, g := range b.Spec.Grants {
		out[i] = grant{roleRef: g.RoleRef, target: g.BindingTarget, prefix: fmt.Sprintf("scim-en-%s-%d-", b.RoleID(), i)}
	}
	return out
}
func (b entitled) status() *scimv1.BindingStatus { return &b.Status }
func (b entitled) object() client.Object         { return b.ScimEntitlement }
