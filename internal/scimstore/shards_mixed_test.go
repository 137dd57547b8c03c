package scimstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// oldReplicaWrites creates what a replica of the previous version writes
// for ids of group: each id in the legacy shard <group>-<fnv32a % 32>,
// sorted. It returns the shards' names by id.
func oldReplicaWrites(t *testing.T, ep types.NamespacedName, group string, ids ...string) map[string]string {
	t.Helper()
	byShard := map[int32][]scimv1.Member{}
	for _, id := range ids {
		n := int32(scimstore.MemberHash(id) % scimv1.MembershipShards)
		byShard[n] = append(byShard[n], scimv1.Member{Value: id})
	}
	names := map[string]string{}
	for n, ms := range byShard {
		slices.SortFunc(ms, func(a, b scimv1.Member) int { return strings.Compare(a.Value, b.Value) })
		sh := &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: fmt.Sprintf("%s-%d", group, n),
			Labels: map[string]string{scimv1.LabelEndpoint: ep.Name, scimv1.LabelGroup: group}},
			Spec: scimv1.ScimMembershipSpec{Group: group, Shard: n, Members: ms}}
		if err := k8s.Create(context.Background(), sh); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			names[m.Value] = sh.Name
		}
	}
	return names
}

// TestTreeGroupWithAnOldReplicasShard: beside an old replica's legacy
// shard, adds still go to the tree, the member it added is read once, and
// a replace empties the legacy shard, which then goes away.
func TestTreeGroupWithAnOldReplicasShard(t *testing.T) {
	st := replica(t, 16)
	ep := namespace(t)
	group := newGroup(t, st, ep, "beside")
	ids := memberIDs(3)
	patch(t, st, ep, group, scimstore.MemberAdd, ids, 3)
	x := memberIDs(1)[0]
	legacy := oldReplicaWrites(t, ep, group, x)[x]
	checkMembers(t, st, ep, group, append(slices.Clone(ids), x))

	// An add of x and y lands in the tree; x is still read once.
	y := memberIDs(1)[0]
	patch(t, st, ep, group, scimstore.MemberAdd, []string{x, y}, 2)
	checkMembers(t, st, ep, group, append(slices.Clone(ids), x, y))
	for _, sh := range liveShards(t, ep, group) {
		if sh.Name == legacy && slices.ContainsFunc(sh.Spec.Members, func(m scimv1.Member) bool { return m.Value == y }) {
			t.Errorf("the add of %s went to the legacy shard %s, not the tree", y, legacy)
		}
	}

	// A replace leaves exactly its members, in the tree only.
	keep := []string{ids[0], y}
	patch(t, st, ep, group, scimstore.MemberReplace, keep, 2)
	checkMembers(t, st, ep, group, keep)
	checkShards(t, ep, group, keep, 16)
	for _, sh := range liveShards(t, ep, group) {
		if sh.Spec.Depth == nil {
			t.Errorf("legacy shard %s is left with %d members after a replace", sh.Name, len(sh.Spec.Members))
		}
	}
}

// oldReplicaRemoves does what a replica of the previous version does to
// remove id from group: it takes id out of the legacy shard
// <group>-<fnv32a % 32>, and of no other shard.
func oldReplicaRemoves(t *testing.T, ep types.NamespacedName, group, id string) {
	t.Helper()
	ctx := context.Background()
	var sh scimv1.ScimMembership
	key := types.NamespacedName{Namespace: ep.Namespace, Name: fmt.Sprintf("%s-%d", group, scimstore.MemberHash(id)%scimv1.MembershipShards)}
	if err := k8s.Get(ctx, key, &sh); err != nil {
		if apierrors.IsNotFound(err) {
			return // nothing to remove, as far as it knows
		}
		t.Fatal(err)
	}
	sh.Spec.Members = slices.DeleteFunc(sh.Spec.Members, func(m scimv1.Member) bool { return m.Value == id })
	if err := k8s.Update(ctx, &sh); err != nil {
		t.Fatal(err)
	}
}

// TestOlderReplicasKeepTheLegacyLayout: while older replicas may serve
// (Options.LegacyLayout), a new group's members go to the shards such a
// replica removes from, and no shard is split, so each removal it handles
// revokes the member. Once they are gone, new groups use the tree again.
func TestOlderReplicasKeepTheLegacyLayout(t *testing.T) {
	var older atomic.Bool
	older.Store(true)
	st := replicaWith(t, scimstore.Options{ShardMembers: 4, LegacyLayout: older.Load})
	ep := namespace(t)
	group := newGroup(t, st, ep, "rolling")
	ids := memberIDs(60)
	patch(t, st, ep, group, scimstore.MemberAdd, ids, 20)
	for _, sh := range liveShards(t, ep, group) {
		if sh.Spec.Depth != nil || sh.Spec.Split {
			t.Errorf("while older replicas serve, shard %s was written in the tree layout (has a depth: %v, split: %v)",
				sh.Name, sh.Spec.Depth != nil, sh.Spec.Split)
		}
	}
	// An older replica removes half of them; the group no longer has them.
	for _, id := range ids[:30] {
		oldReplicaRemoves(t, ep, group, id)
	}
	checkMembers(t, st, ep, group, ids[30:])

	// The older replicas are gone: a new group is a tree again, and the
	// legacy group grows on as a legacy group does.
	older.Store(false)
	tree := newGroup(t, st, ep, "after")
	patch(t, st, ep, tree, scimstore.MemberAdd, ids[:10], 10)
	checkShards(t, ep, tree, ids[:10], 4)
	if !slices.ContainsFunc(liveShards(t, ep, tree), func(sh scimv1.ScimMembership) bool {
		return sh.Spec.Depth != nil && *sh.Spec.Depth == 0
	}) {
		t.Errorf("with no older replica, the new group %s has no tree root", tree)
	}
	more := memberIDs(20)
	patch(t, st, ep, group, scimstore.MemberAdd, more, 20)
	checkShards(t, ep, group, append(slices.Clone(ids[30:]), more...), len(ids)+len(more))
	checkMembers(t, st, ep, group, append(slices.Clone(ids[30:]), more...))
}
