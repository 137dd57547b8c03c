package scimstore

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Bounds on what checking one request's members may cost: it is paid by the
// size of the request, never by the size of the directory.
const (
	// DefaultMaxMembersPerRequest is the default of
	// Options.MaxMembersPerRequest: ten times the batches identity providers
	// send (Okta, and the scale tests, add 1,000 members per PATCH), and
	// about as many ids as the default 1 MiB body holds.
	DefaultMaxMembersPerRequest = 10_000
	// maxLiveMemberReads caps the member lookups of one request that go to
	// the API server because the cache holds the id as neither a user nor
	// a group.
	maxLiveMemberReads = 100
	// maxAncestors bounds the walk up a group's nesting that refuses cycles.
	maxAncestors = 1_000
	// checkEvery is how many items a loop over users, groups or members
	// handles between looks at the request's context.
	checkEvery = 256
)

// MemberKinds resolves every id that changes add to a group, or replace its
// members with, to "User" or "Group", and refuses the changes when one
// cannot be a member: an id of no user or group of the endpoint, the group
// itself, or a group that contains the group, directly or through others (a
// cycle). group is "" for a group being created, which contains nothing yet.
//
// Its cost is bounded by the request: the ids are counted first (at most
// maxMembers, 400 tooMany above: the client can split them over several
// requests, as identity providers do anyway), each distinct id is looked
// up once, in the cache as a user and then as a group, and only the ids the
// cache holds as neither are read from the API server, at most
// maxLiveMemberReads reads per request.
func (s *Store) MemberKinds(ctx context.Context, ep endpointRef, group string, changes []MemberChange) (map[string]string, error) {
	total := 0
	for _, ch := range changes {
		total += len(ch.IDs)
	}
	if total > s.maxMembers {
		return nil, refuse(ErrTooManyMembers,
			"the request names %d members, more than the %d accepted in one request; send them in several requests", total, s.maxMembers)
	}
	kinds := map[string]string{}
	var misses []string
	n := 0
	for _, ch := range changes {
		if ch.Kind == MemberRemove {
			continue
		}
		for _, id := range ch.IDs {
			if n++; n%checkEvery == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if _, done := kinds[id]; done {
				continue
			}
			if id == group {
				return nil, refuse(ErrInvalidMember, "a group cannot be a member of itself")
			}
			kind, err := s.cachedKind(ctx, ep, id)
			if err != nil {
				return nil, err
			}
			if kinds[id] = kind; kind == "" {
				misses = append(misses, id)
			}
		}
	}
	if err := s.liveKinds(ctx, ep, misses, kinds); err != nil {
		return nil, err
	}
	if group != "" {
		if err := s.refuseCycles(ctx, ep, group, kinds); err != nil {
			return nil, err
		}
	}
	return kinds, nil
}

// memberCandidates are the kinds a member id may name, in the order they
// are looked up (nearly every member is a user).
func memberCandidates() []struct {
	kind string
	obj  client.Object
} {
	return []struct {
		kind string
		obj  client.Object
	}{{"User", &scimv1.ScimUser{}}, {"Group", &scimv1.ScimGroup{}}}
}

// cachedKind looks id up in the cache as a user and as a group: it returns
// the kind, "" when the cache holds neither, or a 400 when the cache holds
// one that is not the endpoint's (another endpoint's, or being deleted).
func (s *Store) cachedKind(ctx context.Context, ep endpointRef, id string) (string, error) {
	key := types.NamespacedName{Namespace: ep.Namespace, Name: id}
	for _, c := range memberCandidates() {
		err := s.c.Get(ctx, key, c.obj, client.UnsafeDisableDeepCopy)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return "", err
		case !visibleMember(c.obj, ep.Name):
			return "", notAMember(id)
		}
		return c.kind, nil
	}
	return "", nil
}

// liveKinds reads the ids the cache does not know from the API server: the
// cache may lag (for a minute after an API server outage), and refusing a
// member created just before would be a 400 the identity provider does not
// retry. The first id that is neither a user nor a group of the endpoint
// is refused with 400. Past maxLiveMemberReads reads the request is
// refused with 503 and Retry-After rather than a 400: those ids may well
// exist, and once the cache has caught up the same request costs no read
// at all; a 400 would make the identity provider drop a valid change.
func (s *Store) liveKinds(ctx context.Context, ep endpointRef, ids []string, kinds map[string]string) error {
	reads := 0
	for _, id := range ids {
		key := types.NamespacedName{Namespace: ep.Namespace, Name: id}
		for _, c := range memberCandidates() {
			if reads == maxLiveMemberReads {
				return refuse(ErrNotYetKnown, "the request names more members than this server knows yet; retry later")
			}
			reads++
			err := s.live.Get(ctx, key, c.obj)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if visibleMember(c.obj, ep.Name) {
				kinds[id] = c.kind
			}
			break
		}
		if kinds[id] == "" {
			return notAMember(id)
		}
	}
	return nil
}

// visibleMember reports whether a ScimUser or ScimGroup is one of the
// endpoint's, so a token of one endpoint never references another's.
func visibleMember(obj client.Object, endpoint string) bool {
	switch o := obj.(type) {
	case *scimv1.ScimUser:
		return visible(o, endpoint, o.Spec.Endpoint)
	case *scimv1.ScimGroup:
		return visible(o, endpoint, o.Spec.Endpoint)
	}
	return false
}

func notAMember(id string) *Error {
	return refuse(ErrInvalidMember, "member %q is not a user or group of this endpoint", id)
}

// refuseCycles refuses adding to group any group that already contains it,
// directly or through other groups. It walks up from group through the
// groups it is a member of, from the cache's membership index: a group
// belongs to few groups, while walking down would visit every member of
// the groups added. The walk visits at most maxAncestors groups.
func (s *Store) refuseCycles(ctx context.Context, ep endpointRef, group string, kinds map[string]string) error {
	addsGroups := false
	for _, k := range kinds {
		addsGroups = addsGroups || k == "Group"
	}
	if !addsGroups {
		return nil
	}
	seen := map[string]bool{group: true}
	for queue := []string{group}; len(queue) > 0; queue = queue[1:] {
		if err := ctx.Err(); err != nil {
			return err
		}
		parents, err := s.parentGroups(ctx, ep, queue[0])
		if err != nil {
			return err
		}
		for _, p := range parents {
			if seen[p] {
				continue
			}
			if kinds[p] == "Group" {
				return refuse(ErrInvalidMember,
					"group %q contains this group, directly or through other groups: a group cannot be a member of its own members", p)
			}
			if seen[p] = true; len(seen) > maxAncestors {
				return refuse(ErrInvalidMember,
					"this group is nested in more than %d groups; its nesting cannot be checked for cycles", maxAncestors)
			}
			queue = append(queue, p)
		}
	}
	return nil
}

// parentGroups returns the ids of the endpoint's groups that member is a
// direct member of, from the cache.
func (s *Store) parentGroups(ctx context.Context, ep endpointRef, member string) ([]string, error) {
	var list scimv1.ScimMembershipList
	if err := s.c.List(ctx, &list, client.InNamespace(ep.Namespace),
		client.MatchingFields{IndexMembershipMember: member}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list.Items))
	for i := range list.Items {
		if sh := &list.Items[i]; sh.Labels[scimv1.LabelEndpoint] == ep.Name && s.holds(ctx, sh, member) {
			out = append(out, sh.Spec.Group)
		}
	}
	return out, nil
}
