package scimstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	out := newLayout(group, shards).members()
	slices.SortFunc(out, func(a, b scimv1.Member) int { return strings.Compare(a.Value, b.Value) })
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
	seen := map[string]bool{}
	for i := range list.Items {
		sh := &list.Items[i]
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if seen[sh.Spec.Group] || !s.holds(ctx, sh, member) {
			continue
		}
		seen[sh.Spec.Group] = true
		if g, err := s.GetGroup(ctx, ep, sh.Spec.Group); err == nil {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// leaveGroups removes a user or group that is being deleted from every group
// it is a direct member of.
func (s *Store) leaveGroups(ctx context.Context, ep endpointRef, member string) error {
	groups, err := s.GroupsOf(ctx, ep, member)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := s.ApplyMembers(ctx, ep, g, []MemberChange{{Kind: MemberRemove, IDs: []string{member}}}, nil); err != nil {
			return err
		}
	}
	return nil
}

// ApplyMembers applies member changes to a group and returns the group as it
// is afterwards. Only the shards holding the changed ids are rewritten (all
// shards for a replace); a small group has one shard (shards.go). kinds
// holds the kind of every id the changes add, as MemberKinds resolved and
// checked it. Each shard is updated with optimistic concurrency and retried
// on conflict, so concurrent PATCHes of one group all land. When a shard
// changed, the group's lastModified is stamped too, so its ETag (the group's
// resourceVersion) changes with its members (RFC 7644 §3.14).
func (s *Store) ApplyMembers(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup, changes []MemberChange,
	kinds map[string]string) (*scimv1.ScimGroup, error) {
	b := &batch{changes: changes, kinds: kinds, hash: map[string]uint32{}}
	for _, ch := range changes {
		b.replace = b.replace || ch.Kind == MemberReplace
		for _, id := range ch.IDs {
			b.hash[id] = MemberHash(id)
			if ch.Kind != MemberRemove && kinds[id] == "" {
				return nil, fmt.Errorf("member %s was not resolved before it was added", id)
			}
		}
	}
	shards, err := s.shards(ctx, ep, g.Name)
	if err != nil {
		return nil, err
	}
	l := newLayout(g.Name, shards)
	if s.legacyLayout != nil && s.legacyLayout() {
		// Older replicas may serve: keep to what they remove from.
		b.noSplit = true
		l.legacy = l.legacy || len(shards) == 0
	}
	touched, err := s.touched(ctx, ep, l, b)
	if err != nil {
		return nil, err
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		changed bool
		sem     = make(chan struct{}, 8)
	)
	for r := range touched {
		wg.Add(1)
		go func(r shardRef) {
			defer wg.Done()
			sem <- struct{}{}
			written, err := s.applyShard(ctx, ep, g, l, r, b)
			<-sem
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			// Waiting holds no write slot: the waits of all shards overlap
			// with the remaining writes.
			if len(written) > 0 {
				mu.Lock()
				changed = true
				mu.Unlock()
			}
			for _, sh := range written {
				s.waitForCache(ctx, sh, sh.ResourceVersion)
			}
		}(r)
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	if !changed {
		return g, nil
	}
	return s.touchGroup(ctx, g)
}

// touched returns the shards the changes may change: the leaf of every id
// (every leaf and every legacy shard beside the tree for a replace) and, for
// a removal, every shard of the group the cache holds the id in, legacy
// shards beside the tree included: a replica of the previous version adds beside the tree, and a
// removal answered as done must leave the id in no shard.
func (s *Store) touched(ctx context.Context, ep endpointRef, l *layout, b *batch) (map[shardRef]bool, error) {
	out := map[shardRef]bool{}
	if b.replace {
		for _, n := range l.leaves() {
			out[shardRef{n: n}] = true
		}
		for n := range l.beside {
			out[shardRef{n: n, beside: true}] = true
		}
	} else {
		for _, h := range b.hash {
			out[shardRef{n: l.leaf(h)}] = true
		}
	}
	for _, ch := range b.changes {
		if ch.Kind != MemberRemove {
			continue
		}
		for _, id := range ch.IDs {
			var list scimv1.ScimMembershipList
			if err := s.c.List(ctx, &list, client.InNamespace(ep.Namespace),
				client.MatchingFields{IndexMembershipMember: id}, client.UnsafeDisableDeepCopy); err != nil {
				return nil, err
			}
			for i := range list.Items {
				if sh := &list.Items[i]; sh.Spec.Group == l.group {
					out[l.refOf(sh)] = true
				}
			}
		}
	}
	return out, nil
}

// batch is one request's member changes, with the hash of every id.
type batch struct {
	changes []MemberChange
	kinds   map[string]string
	hash    map[string]uint32
	replace bool
	// noSplit keeps every shard whole, however many members it gets
	// (Options.LegacyLayout).
	noSplit bool
}

// touches reports whether the changes may change the shard at n.
func (b *batch) touches(n node) bool {
	if b.replace {
		return true
	}
	for _, h := range b.hash {
		if n.covers(h) {
			return true
		}
	}
	return false
}

// touchGroup stamps a group's lastModified with a merge patch, which carries
// no resourceVersion: concurrent member changes of one group never conflict
// on it. It returns the patched group (a new object; g may be the cache's).
func (s *Store) touchGroup(ctx context.Context, g *scimv1.ScimGroup) (*scimv1.ScimGroup, error) {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		scimv1.AnnotationLastModified: scimv1.Stamp(),
	}}})
	if err != nil {
		return nil, err
	}
	out := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: g.Namespace, Name: g.Name}}
	if err := s.c.Patch(ctx, out, client.RawPatch(types.MergePatchType, patch), FieldOwner); err != nil {
		return nil, errWrap("stamping ScimGroup", err)
	}
	s.waitForCache(ctx, out, out.ResourceVersion)
	return out, nil
}

// applyShard applies the changes to the shard at n and returns the shards
// it wrote (a deleted one with an empty resourceVersion); none when the
// group already matched. The first write starts from the cached shard,
// which holds this replica's own earlier writes, so a group built by
// consecutive PATCHes costs one API call per shard; the write carries the
// cached resourceVersion, so a stale cache only costs a conflict, after
// which the shard is re-read live. That the shard needs no change is only
// ever concluded from a live read: the cache may not have seen another
// replica's write yet. A shard found split (or split here because it would
// pass Options.ShardMembers) passes the changes on to its children. A
// legacy shard beside the tree only loses members, and goes away when empty.
func (s *Store) applyShard(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup, l *layout, r shardRef,
	b *batch) ([]*scimv1.ScimMembership, error) {
	n := r.n
	key := types.NamespacedName{Namespace: ep.Namespace, Name: l.refName(r)}
	changes := func(cur []scimv1.Member) []scimv1.Member {
		if r.beside {
			return dropChanges(cur, b)
		}
		return applyChanges(cur, n, b)
	}
	queue, err := s.locks.acquire(ctx, key.String())
	if err != nil {
		return nil, errWrap("writing ScimMembership", err)
	}
	backoff := wait.Backoff{Steps: 30, Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: 500 * time.Millisecond}
	var written, split *scimv1.ScimMembership
	live := false
	err = wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		written, split = nil, nil
		cur, exists, err := s.readShard(ctx, key, live)
		if err == nil && !live && queue.last != nil {
			// What this replica wrote last is at least as new as its
			// cache; another replica's later write shows as a conflict.
			cur, exists = queue.last, true
		}
		if err != nil {
			return false, err
		}
		if !r.beside && !l.isRoot(n) {
			// A child is only missing while its split parent still
			// holds its members, or when it has none: finish the split.
			// A split stopped half-way (its clearing write failed) is
			// finished too before its child is written, so that no shard
			// keeps a stale copy of a member removed from the child (a
			// reader of an older version adds up every shard).
			if err := s.finishParent(ctx, ep, g, l, n); err != nil {
				return false, err
			}
		}
		next := changes(cur.Spec.Members)
		// A split shard stays split: the cache is enough to know it.
		if !cur.Spec.Split && equalMembers(cur.Spec.Members, next) && !live {
			live = true
			if cur, exists, err = s.readShard(ctx, key, live); err != nil {
				return false, err
			}
			next = changes(cur.Spec.Members)
		}
		live = true
		var sh *scimv1.ScimMembership
		grow := !r.beside && !b.noSplit && len(next) > s.shardMembers && n.depth < scimv1.MaxMembershipDepth
		switch {
		case cur.Spec.Split && !r.beside:
			split = cur
			return true, nil
		case equalMembers(cur.Spec.Members, next):
			return true, nil
		case grow && !exists:
			sh = newShard(ep, g, l, n, nil)
			sh.Spec.Split = true
			err = s.c.Create(ctx, sh, FieldOwner)
		case grow:
			// Freeze the shard: from here on only its children change.
			sh = &scimv1.ScimMembership{ObjectMeta: *cur.ObjectMeta.DeepCopy(), Spec: cur.Spec}
			sh.Spec.Split = true
			err = s.c.Update(ctx, sh, FieldOwner)
		case !exists:
			sh = newShard(ep, g, l, n, next)
			err = s.c.Create(ctx, sh, FieldOwner)
		case len(next) == 0 && (r.beside || l.isRoot(n) && !l.legacy):
			// Only a new group's root, and a legacy shard beside it, go
			// away when empty: a legacy group's shards say it is one, and
			// a child's place in the tree is kept by its split parent.
			sh = &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Namespace: cur.Namespace, Name: cur.Name}}
			err = s.c.Delete(ctx, sh, client.Preconditions{ResourceVersion: &cur.ResourceVersion})
		default:
			// A new object: cur may be the cache's own, and Update
			// decodes the response into what it is given.
			sh = &scimv1.ScimMembership{ObjectMeta: *cur.ObjectMeta.DeepCopy(), Spec: cur.Spec}
			sh.Spec.Members = next
			err = s.c.Update(ctx, sh, FieldOwner)
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if sh.Spec.Split {
			split = sh
		} else {
			written = sh
		}
		queue.last = sh
		if sh.ResourceVersion == "" || sh.DeletionTimestamp != nil {
			queue.last = nil // deleted
		}
		return true, nil
	})
	s.locks.release(key.String(), queue)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// The request ran out of time: a 503 with Retry-After, not a
		// conflict the client would retry at once.
		return nil, errWrap("writing ScimMembership", ctx.Err())
	case wait.Interrupted(err):
		return nil, refuse(ErrConcurrent, "the group is being modified concurrently; retry")
	default:
		return nil, errWrap("writing ScimMembership", err)
	}
	if split == nil {
		if written == nil {
			return nil, nil
		}
		return []*scimv1.ScimMembership{written}, nil
	}
	out, err := s.finishSplit(ctx, ep, g, l, n, split)
	if err != nil {
		return nil, err
	}
	for _, c := range n.children() {
		if !b.touches(c) {
			continue
		}
		w, err := s.applyShard(ctx, ep, g, l, shardRef{n: c}, b)
		if err != nil {
			return nil, err
		}
		out = append(out, w...)
	}
	return out, nil
}

// finishSplit creates the children of the split shard sh at n that its
// members call for, then clears its members, and returns what it wrote. A
// child that exists already was created from the same frozen members and
// is kept. Any writer passing a split shard that still holds members
// finishes it, so a split stopped half-way by a crash is completed by the
// next write that reaches it.
func (s *Store) finishSplit(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup, l *layout, n node,
	sh *scimv1.ScimMembership) ([]*scimv1.ScimMembership, error) {
	if len(sh.Spec.Members) == 0 {
		return nil, nil
	}
	var out []*scimv1.ScimMembership
	for _, c := range n.children() {
		var ms []scimv1.Member
		for _, m := range sh.Spec.Members {
			if c.covers(MemberHash(m.Value)) {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			continue
		}
		child := newShard(ep, g, l, c, ms)
		err := s.c.Create(ctx, child, FieldOwner)
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return nil, errWrap("splitting ScimMembership", err)
		}
		out = append(out, child)
	}
	cleared := &scimv1.ScimMembership{ObjectMeta: *sh.ObjectMeta.DeepCopy(), Spec: sh.Spec}
	cleared.Spec.Members = nil
	err := s.c.Update(ctx, cleared, FieldOwner)
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		// Cleared by another writer: a split shard changes no other way.
	case err != nil:
		return nil, errWrap("splitting ScimMembership", err)
	default:
		out = append(out, cleared)
	}
	return out, nil
}

// finishParent finishes the split of n's parent when this replica's view
// shows it still holding members, before n's absence is taken as n being
// empty.
func (s *Store) finishParent(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup, l *layout, n node) error {
	// Every ancestor in this view, root first: each holds a copy of the
	// members below it until its split is finished.
	var up []node
	for p := n; !l.isRoot(p) && p.depth > 0; {
		p = p.parent()
		up = append(up, p)
	}
	for i := len(up) - 1; i >= 0; i-- {
		p := up[i]
		sh := l.shards[p]
		if sh == nil || !sh.Spec.Split || len(sh.Spec.Members) == 0 {
			continue
		}
		written, err := s.finishSplit(ctx, ep, g, l, p, sh)
		for _, w := range written {
			s.waitForCache(ctx, w, w.ResourceVersion)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// holds reports whether sh's copy of member counts: always in a shard that
// is not split; in a split shard not yet cleared, only while the cache
// holds no child to take member over.
func (s *Store) holds(ctx context.Context, sh *scimv1.ScimMembership, member string) bool {
	if !sh.Spec.Split {
		return true
	}
	c := nodeOf(sh).child(MemberHash(member))
	key := types.NamespacedName{Namespace: sh.Namespace, Name: ShardName(sh.Spec.Group, &c.depth, c.index)}
	var child scimv1.ScimMembership
	return apierrors.IsNotFound(s.c.Get(ctx, key, &child, client.UnsafeDisableDeepCopy))
}

// readShard reads a shard from the API server (live) or from the cache, in
// which case it is shared with the cache and must not be modified. A missing
// shard is an empty one.
func (s *Store) readShard(ctx context.Context, key types.NamespacedName, live bool) (*scimv1.ScimMembership, bool, error) {
	var cur scimv1.ScimMembership
	var err error
	if live {
		err = s.live.Get(ctx, key, &cur)
	} else {
		err = s.c.Get(ctx, key, &cur, client.UnsafeDisableDeepCopy)
	}
	if apierrors.IsNotFound(err) {
		return &cur, false, nil
	}
	return &cur, err == nil, err
}

func newShard(ep endpointRef, g *scimv1.ScimGroup, l *layout, n node, members []scimv1.Member) *scimv1.ScimMembership {
	sh := &scimv1.ScimMembership{
		ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: l.name(n),
			Labels: map[string]string{scimv1.LabelEndpoint: ep.Name, scimv1.LabelGroup: g.Name}},
		Spec: scimv1.ScimMembershipSpec{Group: g.Name, Shard: n.index, Depth: l.depthOf(n), Members: members},
	}
	// Same-namespace owner: a real cluster's garbage collector removes shards
	// of a group deleted behind the operator's back. Built by hand: the
	// store has no scheme, and the group's kind is known.
	sh.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: scimv1.GroupVersion.String(), Kind: "ScimGroup", Name: g.Name, UID: g.UID,
	}}
	return sh
}

// applyChanges computes the next member list of the shard at n: the changes
// in order, restricted to the ids it covers. The result is sorted by id.
func applyChanges(cur []scimv1.Member, n node, b *batch) []scimv1.Member {
	set := make(map[string]string, len(cur))
	for _, m := range cur {
		set[m.Value] = m.Type
	}
	for _, ch := range b.changes {
		if ch.Kind == MemberReplace {
			set = map[string]string{}
		}
		for _, id := range ch.IDs {
			if !n.covers(b.hash[id]) {
				continue
			}
			if ch.Kind == MemberRemove {
				delete(set, id)
			} else if stored, present := set[id]; !present || (scimv1.Member{Type: stored}).Kind() != b.kinds[id] {
				set[id] = storedType(b.kinds[id])
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

// dropChanges computes the next member list of a legacy shard beside the
// tree: the removals and replaces of the changes, in order; additions go to
// the tree. The result keeps the order of cur.
func dropChanges(cur []scimv1.Member, b *batch) []scimv1.Member {
	gone := map[string]bool{}
	for _, ch := range b.changes {
		switch ch.Kind {
		case MemberReplace:
			return nil
		case MemberRemove:
			for _, id := range ch.IDs {
				gone[id] = true
			}
		}
	}
	return slices.DeleteFunc(slices.Clone(cur), func(m scimv1.Member) bool { return gone[m.Value] })
}

// storedType is how a member of kind "User" or "Group" records its type.
// Users, nearly every member, leave it empty ("empty means User" in the API):
// a shard of a 100,000-member group is then a fifth smaller, and the API
// server, which decodes, validates and re-encodes the whole shard on every
// write, has one map entry less per member to handle.
func storedType(kind string) string {
	if kind == "User" {
		return ""
	}
	return kind
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
