package rolebinding

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// What `kubectl scim` (internal/access, docs/kubectl.md) reads of the
// projection: the same adapters, subject names and targets the reconciler
// uses, so that the plugin's answer to "who has access and why" cannot drift
// from what the operator writes.

// Grant is one role a binding grants, where, and how its children are named.
type Grant struct {
	RoleRef scimv1.RoleRef
	Target  scimv1.BindingTarget
	// ChildPrefix names the RoleBindings or ClusterRoleBindings that carry
	// the grant: shard n is ChildPrefix followed by n.
	ChildPrefix string
}

// Description is what the projection reads of a ScimRoleBinding, a
// ScimClusterRoleBinding or a ScimEntitlement.
type Description struct {
	// Kind is the binding's kind.
	Kind string
	// Ref is "<kind>/<namespace>/<name>", the AnnotationBinding of its children.
	Ref string
	// Endpoint is the ScimEndpoint whose users are granted.
	Endpoint client.ObjectKey
	// Group is the group reference of the binding kinds (zero for an entitlement).
	Group scimv1.GroupReference
	// GroupPin is the status.groupResolvedFrom under which status.groupID
	// is the group spec.group currently resolves to.
	GroupPin string
	// Entitlement is the SCIM role value an entitlement follows ("" for the
	// binding kinds).
	Entitlement string
	// Subjects says how the users appear in the children; an
	// entitlement's are always User subjects.
	Subjects scimv1.Subjects
	Grants   []Grant
	Status   *scimv1.BindingStatus
}

// Describe describes o when it is one of the three binding kinds.
func Describe(o client.Object) (Description, bool) {
	var b binding
	switch v := o.(type) {
	case *scimv1.ScimRoleBinding:
		b = namespaced{v}
	case *scimv1.ScimClusterRoleBinding:
		b = clusterScoped{v}
	case *scimv1.ScimEntitlement:
		b = entitled{v}
	default:
		return Description{}, false
	}
	d := Description{Kind: b.kind(), Ref: bindingRef(b), Endpoint: b.endpoint(), Group: b.group(),
		Entitlement: b.entitlement(), Subjects: b.subjects(), Status: b.status()}
	if d.Entitlement == "" {
		d.GroupPin = groupRefKey(b)
	} else {
		d.Subjects.Kind = scimv1.SubjectUser // as resolve: the API allows no other
	}
	for _, g := range b.grants() {
		d.Grants = append(d.Grants, Grant{RoleRef: g.roleRef, Target: g.target, ChildPrefix: g.prefix})
	}
	return d, true
}
