package scimstore

import (
	"context"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Catalog lists the endpoint's catalog from the cache: the ScimEntitlements
// whose endpoint is ep and that are published, sorted by SCIM Role id
// (ScimEntitlement.RoleID). The objects are shared with the cache and must
// not be modified.
func (s *Store) Catalog(ctx context.Context, ep endpointRef) ([]*scimv1.ScimEntitlement, error) {
	items, err := s.byIndex(ctx, &scimv1.ScimEntitlement{}, IndexEntitlementEndpoint, "", ep.String())
	if err != nil {
		return nil, err
	}
	out := make([]*scimv1.ScimEntitlement, 0, len(items))
	for _, item := range items {
		if e, ok := item.(*scimv1.ScimEntitlement); ok && published(e, ep) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RoleID() < out[j].RoleID() })
	return out, nil
}

// published reports whether e is an entry of ep's catalog: it names ep and
// is not being deleted, and, when it lives in another namespace, the
// operator found that ep accepts it (ConditionPublished, for its current
// generation). A namespace ep does not allow cannot publish to its catalog
// by naming it.
func published(e *scimv1.ScimEntitlement, ep endpointRef) bool {
	if e.DeletionTimestamp != nil || e.EndpointRef() != (scimv1.EndpointReference{Namespace: ep.Namespace, Name: ep.Name}) {
		return false
	}
	if e.Namespace == ep.Namespace {
		return true
	}
	c := meta.FindStatusCondition(e.Status.Conditions, scimv1.ConditionPublished)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == e.Generation
}

// CatalogEntry returns the catalog entry of the endpoint whose Role id is id,
// or a 404 Error. Like GetUser it falls back to the API server when the
// cache misses, so an entry created a moment ago is found.
func (s *Store) CatalogEntry(ctx context.Context, ep endpointRef, id string) (*scimv1.ScimEntitlement, error) {
	ns, name := scimv1.EntitlementOf(ep.Namespace, id)
	var e scimv1.ScimEntitlement
	if err := s.getCachedOrLive(ctx, types.NamespacedName{Namespace: ns, Name: name}, &e); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("Role", id)
		}
		return nil, errWrap("reading ScimEntitlement", err)
	}
	// "<endpoint namespace>.<name>" finds an entry whose id is "<name>".
	if !published(&e, ep) || e.RoleID() != id {
		return nil, notFound("Role", id)
	}
	return &e, nil
}

// UnknownRoles returns the values, of those given, that name no entry of the
// endpoint's catalog, sorted. The cache answers; values it does not know are
// looked up again with one List from the API server, so an entry created
// just before a grant is known, and a request naming many unknown values
// costs one API call, not one per value.
func (s *Store) UnknownRoles(ctx context.Context, ep endpointRef, values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	cached, err := s.Catalog(ctx, ep)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, e := range cached {
		known[e.RoleID()] = true
	}
	missing := missingFrom(values, known)
	if len(missing) == 0 {
		return nil, nil
	}
	var live scimv1.ScimEntitlementList
	// The entitlements naming the endpoint by name, in any namespace (a
	// selectable field: the API server filters them).
	if err := s.live.List(ctx, &live, client.MatchingFields{"spec.endpoint": ep.Name}); err != nil {
		return nil, errWrap("listing ScimEntitlements", err)
	}
	for i := range live.Items {
		if e := &live.Items[i]; published(e, ep) {
			known[e.RoleID()] = true
		}
	}
	return missingFrom(missing, known), nil
}

// missingFrom returns the values known does not hold, once each, sorted.
func missingFrom(values []string, known map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		if !known[v] && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
