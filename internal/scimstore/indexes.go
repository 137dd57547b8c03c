package scimstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Field indexes of the informer cache, read by the SCIM server and the
// reconcilers. Values are "<endpoint>/<value>" where a value is unique per
// endpoint; the cache scopes them by namespace.
const (
	// IndexTokenSecret indexes ScimEndpoints by the names of the Secrets
	// their tokenSecretRefs name.
	IndexTokenSecret  = "spec.tokenSecretRefs.name"
	IndexUserEndpoint = "scim.user.endpoint"
	// IndexUserName and IndexUserExternalID index ScimUsers by a bucket
	// of the value, not the value (see bucketed): read them through
	// Store.ListUsers, which keeps the users holding the value itself.
	IndexUserName         = "scim.user.userName"
	IndexUserExternalID   = "scim.user.externalId"
	IndexGroupEndpoint    = "scim.group.endpoint"
	IndexGroupDisplayName = "scim.group.displayName"
	IndexGroupExternalID  = "scim.group.externalId"
	// IndexUserRole indexes ScimUsers by "<endpoint>/<role value>" for
	// every value of spec.roles: the users an entitlement is granted to.
	IndexUserRole = "scim.user.role"
	// IndexEntitlementEndpoint indexes ScimEntitlements by their endpoint,
	// "<namespace>/<name>" (ScimEntitlement.EndpointRef): an endpoint's
	// catalog, across the namespaces it allows.
	IndexEntitlementEndpoint = "scim.entitlement.endpoint"
	IndexMembershipGroup     = "scim.membership.group"
	IndexMembershipMember    = "scim.membership.member"
)

func indexKey(endpoint, value string) string { return endpoint + "/" + value }

// RegisterIndexes adds the field indexes above to the manager's cache. The
// composition root (internal/operator) calls it once, before any reconciler
// or the SCIM server is set up, and so does every test suite that runs a
// reconciler alone. userName and displayName are indexed lower-cased: SCIM
// compares them case-insensitively.
func RegisterIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	type idx struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}
	// The catalog of an endpoint spans the namespaces it allows.
	everywhere := map[string]bool{IndexEntitlementEndpoint: true}
	user := func(o client.Object) *scimv1.ScimUser { return o.(*scimv1.ScimUser) }
	group := func(o client.Object) *scimv1.ScimGroup { return o.(*scimv1.ScimGroup) }
	for _, i := range []idx{
		{&scimv1.ScimEndpoint{}, IndexTokenSecret, func(o client.Object) []string {
			var names []string
			for _, ref := range o.(*scimv1.ScimEndpoint).Spec.TokenSecretRefs {
				names = append(names, ref.Name)
			}
			return names
		}},
		{&scimv1.ScimUser{}, IndexUserEndpoint, func(o client.Object) []string { return []string{user(o).Spec.Endpoint} }},
		{&scimv1.ScimUser{}, IndexUserName, bucketIndex(IndexUserName)},
		{&scimv1.ScimUser{}, IndexUserExternalID, bucketIndex(IndexUserExternalID)},
		{&scimv1.ScimUser{}, IndexUserRole, func(o client.Object) []string {
			u := user(o)
			out := make([]string, 0, len(u.Spec.Roles))
			for _, r := range u.Spec.Roles {
				if r.Value != "" {
					out = append(out, indexKey(u.Spec.Endpoint, r.Value))
				}
			}
			return out
		}},
		{&scimv1.ScimEntitlement{}, IndexEntitlementEndpoint, func(o client.Object) []string {
			return []string{o.(*scimv1.ScimEntitlement).EndpointRef().String()}
		}},
		{&scimv1.ScimGroup{}, IndexGroupEndpoint, func(o client.Object) []string { return []string{group(o).Spec.Endpoint} }},
		{&scimv1.ScimGroup{}, IndexGroupDisplayName, func(o client.Object) []string {
			g := group(o)
			return []string{indexKey(g.Spec.Endpoint, strings.ToLower(g.Spec.DisplayName))}
		}},
		{&scimv1.ScimGroup{}, IndexGroupExternalID, func(o client.Object) []string {
			if g := group(o); g.Spec.ExternalID != "" {
				return []string{indexKey(g.Spec.Endpoint, g.Spec.ExternalID)}
			}
			return nil
		}},
		{&scimv1.ScimMembership{}, IndexMembershipGroup, func(o client.Object) []string {
			return []string{o.(*scimv1.ScimMembership).Spec.Group}
		}},
		{&scimv1.ScimMembership{}, IndexMembershipMember, func(o client.Object) []string {
			m := o.(*scimv1.ScimMembership)
			out := make([]string, len(m.Spec.Members))
			for i, mem := range m.Spec.Members {
				out[i] = mem.Value
			}
			return out
		}},
	} {
		if err := indexNamespaced(ctx, indexer, i.obj, i.field, i.fn, everywhere[i.field]); err != nil {
			return fmt.Errorf("indexing %T by %s: %w", i.obj, i.field, err)
		}
	}
	return nil
}

// indexNamespaced adds a field index that answers only namespaced lookups
// (client.MatchingFields with client.InNamespace, and Store.byIndex), which
// are the only ones made of most of these indexes, or, with everywhere,
// lookups across namespaces too. client.FieldIndexer.IndexField stores every
// value twice, once more for lookups across namespaces; for the userName and
// externalId of 100,000 users that second copy was a fifth of the
// operator's heap. The index has IndexField's name and key format
// (controller-runtime's cache/internal.FieldIndexName and
// KeyToNamespacedKey, "__all_namespaces" for every namespace), so the cached
// client's List finds it. An indexer that is not a cache (a fake client's)
// gets a plain IndexField.
func indexNamespaced(ctx context.Context, indexer client.FieldIndexer, obj client.Object, field string, fn client.IndexerFunc, everywhere bool) error {
	informers, ok := indexer.(cache.Informers)
	if !ok {
		return indexer.IndexField(ctx, obj, field, fn)
	}
	inf, err := informers.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return err
	}
	return inf.AddIndexers(toolscache.Indexers{"field:" + field: func(raw any) ([]string, error) {
		o, ok := raw.(client.Object)
		if !ok {
			return nil, fmt.Errorf("object of type %T is not an Object", raw)
		}
		vals := fn(o)
		out := make([]string, 0, 2*len(vals))
		for _, v := range vals {
			out = append(out, o.GetNamespace()+"/"+v)
			if everywhere {
				out = append(out, allNamespaces+"/"+v)
			}
		}
		return out, nil
	}})
}

// allNamespaces is the namespace part of an index key that holds a value in
// every namespace (controller-runtime's cache/internal.KeyToNamespacedKey).
const allNamespaces = "__all_namespaces"

// bucketed are the indexes of a value nearly every user holds alone. An
// index of client-go's holds a set per value: at 100,000 users, the
// userName and externalId indexes were a fifth of the operator's heap, one
// set of one user each. These index a bucket of the value instead (one of
// userBuckets per endpoint, from a hash of the value), and a lookup keeps
// the bucket's users that hold the value: about 24 users to compare at
// 100,000, and a set of that many costs little more per user than a map
// entry. The index is the informer's own, updated with the cache, so a
// lookup sees exactly what the cache holds.
var bucketed = map[string]func(*scimv1.ScimUser) string{
	IndexUserName:       func(u *scimv1.ScimUser) string { return strings.ToLower(u.Spec.UserName) },
	IndexUserExternalID: func(u *scimv1.ScimUser) string { return u.Spec.ExternalID },
}

// userBuckets is how many buckets an endpoint's bucketed index has.
const userBuckets = 1 << 12

// bucketOf is the bucket of a value in a bucketed index, as an index value.
func bucketOf(value string) string {
	return strconv.FormatUint(uint64(FNV1a32(value)%userBuckets), 16)
}

// bucketIndex indexes ScimUsers under "<endpoint>/<bucket>" of the value of
// a bucketed index; users without the value (no externalId) are not indexed.
func bucketIndex(field string) client.IndexerFunc {
	valueOf := bucketed[field]
	return func(o client.Object) []string {
		u := o.(*scimv1.ScimUser)
		v := valueOf(u)
		if v == "" {
			return nil
		}
		return []string{indexKey(u.Spec.Endpoint, bucketOf(v))}
	}
}
