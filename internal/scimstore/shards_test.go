package scimstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// replica starts a Store over a manager and cache of its own, as a second
// SCIM server replica has, splitting shards past shardMembers members.
func replica(t *testing.T, shardMembers int) *scimstore.Store {
	t.Helper()
	return replicaWith(t, scimstore.Options{ShardMembers: shardMembers})
}

// replicaWith is replica with more options.
func replicaWith(t *testing.T, opts scimstore.Options) *scimstore.Store {
	t.Helper()
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{Scheme: controlplane.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	opts.MaxMembersPerRequest = scimstore.DefaultMaxMembersPerRequest
	st := scimstore.New(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache(), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	if err := st.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func memberIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	return out
}

func userKinds(ids []string) map[string]string {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		out[id] = "User"
	}
	return out
}

// patch applies one change of kind to ids, in batches of batch ids, as an
// IdP's PATCHes would.
func patch(t *testing.T, st *scimstore.Store, ep types.NamespacedName, group string, kind scimstore.MemberChangeKind,
	ids []string, batch int) {
	t.Helper()
	for len(ids) > 0 {
		n := min(batch, len(ids))
		if err := patchOnce(st, ep, group, kind, ids[:n]); err != nil {
			t.Fatal(err)
		}
		ids = ids[n:]
	}
}

func patchOnce(st *scimstore.Store, ep types.NamespacedName, group string, kind scimstore.MemberChangeKind, ids []string) error {
	ctx := context.Background()
	g, err := st.GetGroup(ctx, ep, group)
	if err != nil {
		return err
	}
	_, err = st.ApplyMembers(ctx, ep, g, []scimstore.MemberChange{{Kind: kind, IDs: ids}}, userKinds(ids))
	return err
}

func newGroup(t *testing.T, st *scimstore.Store, ep types.NamespacedName, name string) string {
	t.Helper()
	g, err := st.CreateGroup(context.Background(), ep, scimv1.ScimGroupSpec{DisplayName: name}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g.Name
}

// liveShards returns the group's shards as the API server holds them.
func liveShards(t *testing.T, ep types.NamespacedName, group string) []scimv1.ScimMembership {
	t.Helper()
	var list scimv1.ScimMembershipList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ep.Namespace),
		client.MatchingLabels{scimv1.LabelGroup: group}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// checkShards checks what the API server holds of group: each wanted
// member exactly once, in a shard its hash places it in, nothing else, no
// shard over limit members, and split shards emptied.
func checkShards(t *testing.T, ep types.NamespacedName, group string, want []string, limit int) {
	t.Helper()
	seen := map[string]string{}
	for _, sh := range liveShards(t, ep, group) {
		if sh.Spec.Split && len(sh.Spec.Members) > 0 {
			t.Errorf("split shard %s still holds %d members", sh.Name, len(sh.Spec.Members))
		}
		if len(sh.Spec.Members) > limit {
			t.Errorf("shard %s holds %d members, over %d", sh.Name, len(sh.Spec.Members), limit)
		}
		for _, m := range sh.Spec.Members {
			if !scimstore.ShardCovers(&sh, m.Value) {
				t.Errorf("member %s is in shard %s, which its hash does not lead to", m.Value, sh.Name)
			}
			if other, dup := seen[m.Value]; dup {
				t.Errorf("member %s is in shards %s and %s", m.Value, other, sh.Name)
			}
			seen[m.Value] = sh.Name
		}
	}
	for _, id := range want {
		if _, ok := seen[id]; !ok {
			t.Errorf("member %s is in no shard", id)
		}
		delete(seen, id)
	}
	for id, sh := range seen {
		t.Errorf("member %s is in shard %s but should not be", id, sh)
	}
}

// checkMembers checks that st reads exactly want (eventually: st's cache
// may trail another replica's writes).
func checkMembers(t *testing.T, st *scimstore.Store, ep types.NamespacedName, group string, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, err := st.Members(context.Background(), ep, group)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(ms))
		for i, m := range ms {
			got[i] = m.Value
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Members reads %d members, want %d", len(got), len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSmallGroupStaysInOneShard: a group of 250 built by PATCHes of 100 is
// one ScimMembership, written once per PATCH.
func TestSmallGroupStaysInOneShard(t *testing.T) {
	ep := namespace(t)
	group := newGroup(t, store, ep, "small")
	ids := memberIDs(250)
	writes.Store(0)
	patch(t, store, ep, group, scimstore.MemberAdd, ids, 100)
	// Each PATCH writes its shard and stamps the group.
	if n := writes.Load(); n != 6 {
		t.Errorf("3 PATCHes made %d writes, want 6 (one shard and one stamp each)", n)
	}
	t.Logf("3 PATCHes of up to 100 members: %d writes", writes.Load())
	if shards := liveShards(t, ep, group); len(shards) != 1 {
		t.Errorf("a group of 250 has %d shards, want 1", len(shards))
	}
	checkShards(t, ep, group, ids, scimstore.DefaultShardMembers)
	checkMembers(t, store, ep, group, ids)
	patch(t, store, ep, group, scimstore.MemberRemove, ids, 100)
	if shards := liveShards(t, ep, group); len(shards) != 0 {
		t.Errorf("an emptied group keeps %d shards", len(shards))
	}
}

// TestGroupGrowsPastItsShards: a group that outgrows its shard is split
// over levels of the tree; every member is read once, is found by
// GroupsOf, and can be removed again.
func TestGroupGrowsPastItsShards(t *testing.T) {
	ctx := context.Background()
	st := replica(t, 16)
	ep := namespace(t)
	group := newGroup(t, st, ep, "growing")
	ids := memberIDs(300)
	patch(t, st, ep, group, scimstore.MemberAdd, ids, 37)
	if shards := liveShards(t, ep, group); len(shards) < 300/16 {
		t.Errorf("300 members with 16 per shard are in %d shards", len(shards))
	}
	checkShards(t, ep, group, ids, 16)
	checkMembers(t, st, ep, group, ids)
	for _, id := range ids[:20] {
		gs, err := st.GroupsOf(ctx, ep, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || gs[0].Name != group {
			t.Errorf("GroupsOf(%s) = %d groups, want the group once", id, len(gs))
		}
	}
	// A replace keeps a third; then remove the rest one request at a time.
	keep := ids[:100]
	if err := patchOnce(st, ep, group, scimstore.MemberReplace, keep); err != nil {
		t.Fatal(err)
	}
	checkShards(t, ep, group, keep, 16)
	checkMembers(t, st, ep, group, keep)
	patch(t, st, ep, group, scimstore.MemberRemove, keep, 7)
	checkShards(t, ep, group, nil, 16)
	checkMembers(t, st, ep, group, nil)
}

// TestReplicasGrowAGroupConcurrently: two replicas, each with its own
// cache, add and remove members of one group at the same time while it
// splits; nothing is lost or duplicated.
func TestReplicasGrowAGroupConcurrently(t *testing.T) {
	a, b := replica(t, 16), replica(t, 16)
	ep := namespace(t)
	group := newGroup(t, a, ep, "contended")
	early := memberIDs(40)
	patch(t, a, ep, group, scimstore.MemberAdd, early, 20)
	xs, ys := memberIDs(150), memberIDs(150)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	run := func(st *scimstore.Store, kind scimstore.MemberChangeKind, ids []string, batch int) {
		defer wg.Done()
		for len(ids) > 0 {
			n := min(batch, len(ids))
			if err := patchOnce(st, ep, group, kind, ids[:n]); err != nil && !errors.Is(err, scimstore.ErrConcurrent) {
				errs <- fmt.Errorf("PATCH: %w", err)
				return
			} else if err != nil {
				continue // retried, as an IdP retries a 409
			}
			ids = ids[n:]
		}
	}
	wg.Add(4)
	go run(a, scimstore.MemberAdd, xs, 11)
	go run(b, scimstore.MemberAdd, ys, 13)
	go run(b, scimstore.MemberRemove, early[:20], 3)
	go run(a, scimstore.MemberRemove, early[20:], 5)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := append(slices.Clone(xs), ys...)
	checkShards(t, ep, group, want, 16)
	checkMembers(t, a, ep, group, want)
	checkMembers(t, b, ep, group, want)
	// A member another replica just added is removed through the other.
	patch(t, a, ep, group, scimstore.MemberRemove, ys, 50)
	patch(t, b, ep, group, scimstore.MemberRemove, xs, 50)
	checkShards(t, ep, group, nil, 16)
}

// TestLegacyShardsKeepWorking: a group stored as the 32 hash shards
// without a depth (before shards grew with their group) is read, added to,
// removed from and split correctly, with no migration.
func TestLegacyShardsKeepWorking(t *testing.T) {
	st := replica(t, 16)
	ep := namespace(t)
	group := newGroup(t, st, ep, "legacy")
	old := memberIDs(200)
	oldReplicaWrites(t, ep, group, old...)
	checkMembers(t, st, ep, group, old)
	added := memberIDs(300)
	patch(t, st, ep, group, scimstore.MemberAdd, added, 50)
	want := append(slices.Clone(old), added...)
	checkShards(t, ep, group, want, 16)
	checkMembers(t, st, ep, group, want)
	for _, sh := range liveShards(t, ep, group) {
		if sh.Spec.Depth != nil && *sh.Spec.Depth <= 5 {
			t.Errorf("a legacy group got shard %s at depth %d", sh.Name, *sh.Spec.Depth)
		}
	}
	// The old members are removed wherever they are now.
	patch(t, st, ep, group, scimstore.MemberRemove, old, 25)
	checkShards(t, ep, group, added, 16)
	checkMembers(t, st, ep, group, added)
}
