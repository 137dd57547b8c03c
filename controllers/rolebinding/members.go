package rolebinding

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// userStore reads ScimUsers by key straight from the shared informer's store.
// A pass over a 100,000-member group makes 100,000 lookups; through the cache
// reader each one builds its key and copies the object by reflection, which
// cost more than the rest of the pass.
type userStore struct{ toolscache.Indexer }

// newUserStore returns the store of the ScimUser informer of c, or nil when
// the informer does not expose one (a multi-namespace cache): lookups then go
// through the client.
func newUserStore(ctx context.Context, c cache.Cache) (*userStore, error) {
	inf, err := c.GetInformer(ctx, &scimv1.ScimUser{})
	if err != nil {
		return nil, fmt.Errorf("getting the ScimUser informer: %w", err)
	}
	ix, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, nil
	}
	return &userStore{ix.GetIndexer()}, nil
}

// user returns the cached user ns/name (nil when absent). The object is the
// cache's own and must not be modified.
func (s *userStore) user(ns, name string) (*scimv1.ScimUser, error) {
	obj, ok, err := s.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil, err
	}
	u, ok := obj.(*scimv1.ScimUser)
	if !ok {
		return nil, fmt.Errorf("the ScimUser cache holds a %T", obj)
	}
	return u, nil
}

// getUser returns the user ns/name from the informer's store when there is
// one, else from the client's cache without a copy; nil when it does not exist.
func (r *Reconciler) getUser(ctx context.Context, ns, name string) (*scimv1.ScimUser, error) {
	if r.users != nil {
		return r.users.user(ns, name)
	}
	u := &scimv1.ScimUser{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, u, client.UnsafeDisableDeepCopy); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return u, nil
}

// memberUsers returns every member user of the group found (the sources of
// the grant). The users are the cache's own objects (read without a copy: a
// group of 50,000 would cost 50,000 copies per pass) and must not be
// modified.
func (r *Reconciler) memberUsers(ctx context.Context, ep client.ObjectKey, group string) ([]*scimv1.ScimUser, error) {
	var shards scimv1.ScimMembershipList
	if err := r.Client.List(ctx, &shards, client.InNamespace(ep.Namespace),
		client.MatchingFields{scimstore.IndexMembershipGroup: group}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing members of ScimGroup %s/%s: %w", ep.Namespace, group, err)
	}
	list := make([]*scimv1.ScimMembership, len(shards.Items))
	for i := range shards.Items {
		list[i] = &shards.Items[i]
	}
	// The members as the SCIM server reads them: a frozen split shard's
	// stale copy of a removed member grants nothing.
	members := scimstore.EffectiveMembers(list)
	found := make([]*scimv1.ScimUser, 0, len(members))
	for _, m := range members {
		if !m.IsUser() {
			continue // nested groups are not expanded
		}
		u, err := r.getUser(ctx, ep.Namespace, m.Value)
		if err != nil {
			return nil, fmt.Errorf("getting ScimUser %s/%s: %w", ep.Namespace, m.Value, err)
		}
		if u != nil {
			found = append(found, u)
		}
	}
	return found, nil
}

// activeMember reports whether a member user of a group of endpoint ep is
// granted: active, not being deleted, and of that endpoint.
func activeMember(ep string) func(*scimv1.ScimUser) bool {
	return func(u *scimv1.ScimUser) bool {
		return u.Spec.Active && u.DeletionTimestamp.IsZero() && u.Spec.Endpoint == ep
	}
}

// entitledUsers returns the users of the endpoint whose SCIM roles hold the
// entitlement role (the sources of the grant). Like memberUsers, the users
// are the cache's own objects and must not be modified.
func (r *Reconciler) entitledUsers(ctx context.Context, ep client.ObjectKey, role string) ([]*scimv1.ScimUser, error) {
	var users scimv1.ScimUserList
	if err := r.Client.List(ctx, &users, client.InNamespace(ep.Namespace),
		client.MatchingFields{scimstore.IndexUserRole: ep.Name + "/" + role}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing users granted %s in %s: %w", role, ep, err)
	}
	found := make([]*scimv1.ScimUser, 0, len(users.Items))
	for i := range users.Items {
		u := &users.Items[i]
		if u.Spec.Endpoint == ep.Name && u.Spec.Granted(role) {
			found = append(found, u)
		}
	}
	return found, nil
}

// entitledActive reports whether a user holding the entitlement is granted:
// active, not being deleted, and with roles the identity provider has sent
// since their last reactivation (RolesCurrent).
func entitledActive(u *scimv1.ScimUser) bool {
	return u.Spec.Active && u.DeletionTimestamp.IsZero() && u.RolesCurrent()
}
