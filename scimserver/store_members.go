package scimserver

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// MemberChangeKind is what a MemberChange does to a group's member set.
type MemberChangeKind int

// Kinds of member changes, applied in request order.
const (
	MemberAdd MemberChangeKind = iota
	MemberRemove
	MemberReplace // the set becomes exactly IDs (none when IDs is empty)
)

// MemberChange is one change of a group's member set.
type MemberChange struct {
	Kind MemberChangeKind
	IDs  []string
}

// ShardOf returns the shard a member id belongs to.
func ShardOf(id string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int32(h.Sum32() % scimv1.MembershipShards)
}

// ShardName is the name of shard n of a group.
func ShardName(group string, n int32) string { return fmt.Sprintf("%s-%d", group, n) }

// shards lists a group's membership shards from the cache (not deep-copied).
func (s *Store) shards(ctx context.Context, ep endpointRef, group string) ([]*scimv1.ScimMembership, error) {
	var list scimv1.ScimMembershipList
	if err := s.c.List(ctx, &list, client.InNamespace(ep.Namespace),
		client.MatchingFields{IndexMembershipGroup: group}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*scimv1.ScimMembership, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// Members returns a group's members over all shards, sorted by id.
func (s *Store) Members(ctx context.Context, ep endpointRef, group string) ([]scimv1.Member, error) {
	shards, err := s.shards(ctx, ep, group)
	if err != nil {
		return nil, err
	}
	var out []scimv1.Member
	for _, sh := range shards {
		out = append(out, sh.Spec.Members...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out, nil
}

// GroupsOf returns the groups a user or group is a direct member of.
func (s *Store) GroupsOf(ctx context.Context, ep endpointRef, member string) ([]*scimv1.ScimGroup, error) {
	var list scimv1.ScimMembershipList
	if err := s.c.List(ctx, &list, client.InNamespace(ep.Namespace),
		client.MatchingFields{IndexMembershipMember: member}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var out []*scimv1.ScimGroup
	for _, sh := range list.Items {
		if g, err := s.GetGroup(ctx, ep, sh.Spec.Group); err == nil {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// memberType resolves an id to "User" or "Group" of the same endpoint. Ids of
// other endpoints or of nothing are refused, so a token of one endpoint can
// never reference another endpoint's resources.
func (s *Store) memberType(ctx context.Context, ep endpointRef, id string) (string, error) {
	if _, err := s.GetUser(ctx, ep, id); err == nil {
		return "User", nil
	}
	if _, err := s.GetGroup(ctx, ep, id); err == nil {
		return "Group", nil
	}
	return "", errorf(http.StatusBadRequest, scimInvalidValue, "member %q is not a user or group of this endpoint", id)
}

// ApplyMembers applies member changes to a group. Only the shards holding the
// changed ids are rewritten (all shards for a replace). Each shard is updated
// with optimistic concurrency and retried on conflict, so concurrent PATCHes
// of one group all land.
func (s *Store) ApplyMembers(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup, changes []MemberChange) error {
	kinds := map[string]string{}
	touched := map[int32]bool{}
	for _, ch := range changes {
		if ch.Kind == MemberReplace {
			for n := int32(0); n < scimv1.MembershipShards; n++ {
				touched[n] = true
			}
		}
		for _, id := range ch.IDs {
			touched[ShardOf(id)] = true
			if ch.Kind != MemberRemove && kinds[id] == "" {
				t, err := s.memberType(ctx, ep, id)
				if err != nil {
					return err
				}
				kinds[id] = t
			}
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 8)
	)
	for n := range touched {
		wg.Add(1)
		go func(n int32) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.applyShard(ctx, ep, g, n, changes, kinds); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(n)
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// applyShard rewrites one shard, re-reading it live after every conflict.
func (s *Store) applyShard(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup, n int32,
	changes []MemberChange, kinds map[string]string) error {
	key := types.NamespacedName{Namespace: ep.Namespace, Name: ShardName(g.Name, n)}
	backoff := wait.Backoff{Steps: 30, Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: 500 * time.Millisecond}
	var written *scimv1.ScimMembership
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		var cur scimv1.ScimMembership
		err := s.live.Get(ctx, key, &cur)
		exists := err == nil
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		next := applyChanges(cur.Spec.Members, n, changes, kinds)
		switch {
		case equalMembers(cur.Spec.Members, next):
			return true, nil
		case !exists:
			sh := newShard(ep, g, n, next)
			err = s.c.Create(ctx, sh, FieldOwner)
			written = sh
		case len(next) == 0:
			err = s.c.Delete(ctx, &cur, client.Preconditions{ResourceVersion: &cur.ResourceVersion})
			written = &cur
			written.ResourceVersion = ""
		default:
			cur.Spec.Members = next
			err = s.c.Update(ctx, &cur, FieldOwner)
			written = &cur
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		if wait.Interrupted(err) {
			return errorf(http.StatusConflict, "", "the group is being modified concurrently; retry")
		}
		return errWrap("writing ScimMembership", err)
	}
	if written != nil {
		s.waitForCache(ctx, written, written.ResourceVersion)
	}
	return nil
}

func newShard(ep endpointRef, g *scimv1.ScimGroup, n int32, members []scimv1.Member) *scimv1.ScimMembership {
	sh := &scimv1.ScimMembership{
		ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: ShardName(g.Name, n),
			Labels: map[string]string{scimv1.LabelEndpoint: ep.Name, scimv1.LabelGroup: g.Name}},
		Spec: scimv1.ScimMembershipSpec{Group: g.Name, Shard: n, Members: members},
	}
	// Same-namespace owner: a real cluster's garbage collector removes shards
	// of a group deleted behind the operator's back.
	_ = controllerutil.SetOwnerReference(g, sh, nil)
	sh.OwnerReferences[0].APIVersion = scimv1.GroupVersion.String()
	sh.OwnerReferences[0].Kind = "ScimGroup"
	return sh
}

// applyChanges computes shard n's next member list: the changes in order,
// restricted to the ids that hash to n. The result is sorted by id.
func applyChanges(cur []scimv1.Member, n int32, changes []MemberChange, kinds map[string]string) []scimv1.Member {
	set := map[string]string{}
	for _, m := range cur {
		set[m.Value] = m.Type
	}
	for _, ch := range changes {
		if ch.Kind == MemberReplace {
			set = map[string]string{}
		}
		for _, id := range ch.IDs {
			if ShardOf(id) != n {
				continue
			}
			if ch.Kind == MemberRemove {
				delete(set, id)
			} else {
				set[id] = kinds[id]
			}
		}
	}
	out := make([]scimv1.Member, 0, len(set))
	for id, t := range set {
		out = append(out, scimv1.Member{Value: id, Type: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

func equalMembers(a, b []scimv1.Member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
