package access

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
)

// bindingInfo is one ScimRoleBinding, ScimClusterRoleBinding or
// ScimEntitlement with what its grants reach: the group it resolved to, the
// existing target namespaces of each grant, and its children.
type bindingInfo struct {
	obj    client.Object
	d      rolebinding.Description
	ref    ObjectRef
	ep     *endpointData
	group  *scimv1.ScimGroup // the binding kinds' group, nil when not found
	places []place
	rbs    []rbacv1.RoleBinding
	crbs   []rbacv1.ClusterRoleBinding
}

// place is one grant of a binding and where it applies.
type place struct {
	grant       rolebinding.Grant
	namespaces  []string
	clusterWide bool
}

// covers reports whether the place grants in namespace ns ("" matches
// cluster-wide grants only).
func (p place) covers(ns string) bool {
	if p.clusterWide {
		return true
	}
	for _, n := range p.namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

// ready is the binding's Ready condition, nil before its first pass.
func (b *bindingInfo) ready() *metav1.Condition {
	return meta.FindStatusCondition(b.d.Status.Conditions, scimv1.ConditionReady)
}

// refusal is why the binding grants nothing at all, "" when it grants (or
// has not been reconciled yet).
func (b *bindingInfo) refusal() string {
	c := b.ready()
	if c == nil {
		return ""
	}
	switch c.Reason {
	case rolebinding.ReasonRoleNotAllowed, rolebinding.ReasonEndpointNotFound,
		rolebinding.ReasonEndpointNotAllowed, rolebinding.ReasonGroupNotFound:
		return c.Reason + ": " + c.Message
	}
	return ""
}

// load describes o and reads what its grants reach.
func (s *session) load(o client.Object) (*bindingInfo, error) {
	d, ok := rolebinding.Describe(o)
	if !ok {
		return nil, fmt.Errorf("%T is not a binding kind", o)
	}
	b := &bindingInfo{obj: o, d: d, ref: ObjectRef{Kind: d.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}}
	var err error
	if b.ep, err = s.endpoint(d.Endpoint); err != nil {
		return nil, err
	}
	if d.Entitlement == "" {
		b.group = b.boundGroup()
	}
	for _, g := range d.Grants {
		p := place{grant: g, clusterWide: g.Target.ClusterWide}
		if !p.clusterWide {
			if p.namespaces, err = rolebinding.TargetNamespaces(s.ctx, s.c, g.Target); err != nil {
				return nil, err
			}
		}
		b.places = append(b.places, p)
	}
	uid := client.MatchingLabels{rolebinding.LabelBindingUID: string(o.GetUID())}
	var rbs rbacv1.RoleBindingList
	if err := s.pages(&rbs, func() { b.rbs = append(b.rbs, rbs.Items...) }, uid); err != nil {
		return nil, fmt.Errorf("listing the RoleBindings of %s: %w", d.Ref, err)
	}
	var crbs rbacv1.ClusterRoleBindingList
	if err := s.pages(&crbs, func() { b.crbs = append(b.crbs, crbs.Items...) }, uid); err != nil {
		return nil, fmt.Errorf("listing the ClusterRoleBindings of %s: %w", d.Ref, err)
	}
	return b, nil
}

// boundGroup is the group the binding grants to, as the reconciler finds
// it: spec.group.id; else the pinned status.groupID while it was resolved
// from the current spec and still exists; else the displayName.
func (b *bindingInfo) boundGroup() *scimv1.ScimGroup {
	if id := b.d.Group.ID; id != "" {
		return b.ep.groups[id]
	}
	if st := b.d.Status; st.GroupID != "" && st.GroupResolvedFrom == b.d.GroupPin {
		if g := b.ep.groups[st.GroupID]; g != nil && g.DeletionTimestamp.IsZero() {
			return g
		}
	}
	var ids []string
	for id, g := range b.ep.groups {
		if strings.EqualFold(g.Spec.DisplayName, b.d.Group.DisplayName) && g.DeletionTimestamp.IsZero() {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	return b.ep.groups[ids[0]]
}

// locations are where grant p applies or its children still are: its
// target namespaces and every namespace holding one of its RoleBindings, or
// "" (the ClusterRoleBindings) for a cluster-wide grant or a leftover one.
func (b *bindingInfo) locations(p place) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ns string) {
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	if p.clusterWide {
		add("")
	}
	for _, ns := range p.namespaces {
		add(ns)
	}
	for _, c := range b.rbs {
		if isShard(c.Name, p.grant.ChildPrefix) {
			add(c.Namespace)
		}
	}
	for _, c := range b.crbs {
		if isShard(c.Name, p.grant.ChildPrefix) {
			add("")
		}
	}
	sort.Strings(out)
	return out
}

// targets reports whether location ns ("" for cluster-wide) is one the
// grant should apply in.
func (p place) targets(ns string) bool {
	if ns == "" {
		return p.clusterWide
	}
	return !p.clusterWide && p.covers(ns)
}

// holder finds, among the binding's children of grant g in namespace ns
// (ClusterRoleBindings when ns is ""), the one whose subjects hold subject.
func (b *bindingInfo) holder(g rolebinding.Grant, ns string, subject subjectKey) (ObjectRef, bool) {
	if ns == "" {
		for i := range b.crbs {
			if c := &b.crbs[i]; isShard(c.Name, g.ChildPrefix) && holds(c.Subjects, subject) {
				return ObjectRef{Kind: "ClusterRoleBinding", Name: c.Name}, true
			}
		}
		return ObjectRef{Kind: "ClusterRoleBinding"}, false
	}
	for i := range b.rbs {
		if c := &b.rbs[i]; c.Namespace == ns && isShard(c.Name, g.ChildPrefix) && holds(c.Subjects, subject) {
			return ObjectRef{Kind: "RoleBinding", Namespace: ns, Name: c.Name}, true
		}
	}
	return ObjectRef{Kind: "RoleBinding", Namespace: ns}, false
}

// subjectsAt are the subjects of the binding's children of grant g in
// namespace ns (ClusterRoleBindings when ns is ""), with the child holding each.
func (b *bindingInfo) subjectsAt(g rolebinding.Grant, ns string) map[subjectKey]ObjectRef {
	out := map[subjectKey]ObjectRef{}
	if ns == "" {
		for _, c := range b.crbs {
			if isShard(c.Name, g.ChildPrefix) {
				for _, s := range c.Subjects {
					out[keyOf(s)] = ObjectRef{Kind: "ClusterRoleBinding", Name: c.Name}
				}
			}
		}
		return out
	}
	for _, c := range b.rbs {
		if c.Namespace == ns && isShard(c.Name, g.ChildPrefix) {
			for _, s := range c.Subjects {
				out[keyOf(s)] = ObjectRef{Kind: "RoleBinding", Namespace: ns, Name: c.Name}
			}
		}
	}
	return out
}

// isShard reports whether name is prefix followed by a shard number.
func isShard(name, prefix string) bool {
	n, err := strconv.Atoi(strings.TrimPrefix(name, prefix))
	return strings.HasPrefix(name, prefix) && err == nil && n >= 0 && n < rolebinding.Shards
}

// subjectKey is an RBAC subject as the operator writes it: a User or a
// Group, by name.
type subjectKey struct{ kind, name string }

func keyOf(s rbacv1.Subject) subjectKey { return subjectKey{kind: s.Kind, name: s.Name} }

func holds(subjects []rbacv1.Subject, s subjectKey) bool {
	for _, have := range subjects {
		if keyOf(have) == s {
			return true
		}
	}
	return false
}
