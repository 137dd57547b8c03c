package access

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
)

// bindingsOf loads every binding and entitlement of endpoint ep: the
// ScimRoleBindings of any namespace naming it, the ScimClusterRoleBindings
// naming it, and the ScimEntitlements of any namespace naming it.
func (s *session) bindingsOf(ep client.ObjectKey) ([]*bindingInfo, error) {
	var objs []client.Object
	var rbs scimv1.ScimRoleBindingList
	if err := s.pages(&rbs, func() {
		for i := range rbs.Items {
			if b := rbs.Items[i]; b.EndpointRef().String() == ep.String() {
				objs = append(objs, &b)
			}
		}
	}, client.MatchingFields{"spec.endpoint": ep.Name}); err != nil {
		return nil, fmt.Errorf("listing ScimRoleBindings: %w", err)
	}
	var crbs scimv1.ScimClusterRoleBindingList
	if err := s.pages(&crbs, func() {
		for i := range crbs.Items {
			objs = append(objs, &crbs.Items[i])
		}
	}, client.MatchingFields{"spec.endpoint.namespace": ep.Namespace, "spec.endpoint.name": ep.Name}); err != nil {
		return nil, fmt.Errorf("listing ScimClusterRoleBindings: %w", err)
	}
	var ens scimv1.ScimEntitlementList
	if err := s.pages(&ens, func() {
		for i := range ens.Items {
			if e := &ens.Items[i]; e.EndpointRef().String() == ep.String() {
				objs = append(objs, e)
			}
		}
	}, client.MatchingFields{"spec.endpoint": ep.Name}); err != nil {
		return nil, fmt.Errorf("listing ScimEntitlements: %w", err)
	}
	return s.loadAll(objs)
}

// bindingsIn loads every binding that grants, should grant or still grants
// something in namespace ns or cluster-wide: the ScimRoleBindings of ns, the
// ScimClusterRoleBindings and ScimEntitlements whose targets include ns or
// the cluster, and the owners of the operator's RoleBindings in ns.
func (s *session) bindingsIn(ns string) ([]*bindingInfo, error) {
	var objs []client.Object
	var rbs scimv1.ScimRoleBindingList
	if err := s.pages(&rbs, func() {
		for i := range rbs.Items {
			objs = append(objs, &rbs.Items[i])
		}
	}, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing ScimRoleBindings: %w", err)
	}
	var crbs scimv1.ScimClusterRoleBindingList
	if err := s.pages(&crbs, func() {
		for i := range crbs.Items {
			objs = append(objs, &crbs.Items[i])
		}
	}); err != nil {
		return nil, fmt.Errorf("listing ScimClusterRoleBindings: %w", err)
	}
	var ens scimv1.ScimEntitlementList
	if err := s.pages(&ens, func() {
		for i := range ens.Items {
			objs = append(objs, &ens.Items[i])
		}
	}); err != nil {
		return nil, fmt.Errorf("listing ScimEntitlements: %w", err)
	}
	owners, err := s.ownersIn(ns)
	if err != nil {
		return nil, err
	}
	all, err := s.loadAll(objs)
	if err != nil {
		return nil, err
	}
	var out []*bindingInfo
	for _, b := range all {
		if owners[string(b.obj.GetUID())] || b.grantsIn(ns) {
			out = append(out, b)
		}
	}
	return out, nil
}

// ownersIn is the set of binding uids that own one of the operator's
// RoleBindings in ns, or a ClusterRoleBinding.
func (s *session) ownersIn(ns string) (map[string]bool, error) {
	owners := map[string]bool{}
	managed := client.MatchingLabels{scimv1.LabelManagedBy: scimv1.ManagedByValue}
	var rbs rbacv1.RoleBindingList
	if err := s.pages(&rbs, func() {
		for _, rb := range rbs.Items {
			owners[rb.Labels[rolebinding.LabelBindingUID]] = true
		}
	}, client.InNamespace(ns), managed); err != nil {
		return nil, fmt.Errorf("listing RoleBindings in %s: %w", ns, err)
	}
	var crbs rbacv1.ClusterRoleBindingList
	if err := s.pages(&crbs, func() {
		for _, crb := range crbs.Items {
			owners[crb.Labels[rolebinding.LabelBindingUID]] = true
		}
	}, managed); err != nil {
		return nil, fmt.Errorf("listing ClusterRoleBindings: %w", err)
	}
	return owners, nil
}

// grantsIn reports whether one of the binding's grants targets ns or the
// whole cluster.
func (b *bindingInfo) grantsIn(ns string) bool {
	for _, p := range b.places {
		if p.covers(ns) {
			return true
		}
	}
	return false
}

// loadAll loads each object, skipping one deleted meanwhile, sorted by kind,
// namespace and name.
func (s *session) loadAll(objs []client.Object) ([]*bindingInfo, error) {
	var out []*bindingInfo
	for _, o := range objs {
		b, err := s.load(o)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.Compare(out[i].ref.String(), out[j].ref.String()) < 0
	})
	return out, nil
}
