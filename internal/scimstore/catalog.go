package scimstore

import (
	"context"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Catalog lists the endpoint's catalog from the cache: the ScimEntitlements
// of its namespace whose spec.endpoint names it and that are not being
// deleted, sorted by name (the SCIM Role id). The objects are shared with
// the cache and must not be modified.
func (s *Store) Catalog(ctx context.Context, ep endpointRef) ([]*scimv1.ScimEntitlement, error) {
	return listIndexed(ctx, s, &scimv1.ScimEntitlement{}, ep, "", "", IndexEntitlementEndpoint,
		func(e *scimv1.ScimEntitlement) string { return e.Spec.Endpoint })
}

// CatalogEntry returns the catalog entry id of the endpoint, or a 404 Error
// (an entitlement of another endpoint, or being deleted, is not one). Like
// GetUser it falls back to the API server when the cache misses, so an entry
// created a moment ago is found.
func (s *Store) CatalogEntry(ctx context.Context, ep endpointRef, id string) (*scimv1.ScimEntitlement, error) {
	var e scimv1.ScimEntitlement
	if err := s.getCachedOrLive(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, &e); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("Role", id)
		}
		return nil, errWrap("reading ScimEntitlement", err)
	}
	if !visible(&e, ep.Name, e.Spec.Endpoint) {
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
		known[e.Name] = true
	}
	missing := missingFrom(values, known)
	if len(missing) == 0 {
		return nil, nil
	}
	var live scimv1.ScimEntitlementList
	if err := s.live.List(ctx, &live, client.InNamespace(ep.Namespace)); err != nil {
		return nil, errWrap("listing ScimEntitlements", err)
	}
	for i := range live.Items {
		if e := &live.Items[i]; visible(e, ep.Name, e.Spec.Endpoint) {
			known[e.Name] = true
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
