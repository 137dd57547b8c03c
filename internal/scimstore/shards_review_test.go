package scimstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// faultyReplica is replica with its writes going through the suite's
// fault injector (failNth).
func faultyReplica(t *testing.T, shardMembers int) *scimstore.Store {
	t.Helper()
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{Scheme: controlplane.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	st := scimstore.New(faulty{mgr.GetClient()}, mgr.GetAPIReader(), mgr.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, ShardMembers: shardMembers})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { noFaults(); cancel(); <-done })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}
	if err := st.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// idsByBit returns n fresh ids whose hash has bit 0 equal to bit.
func idsByBit(n int, bit uint32) []string {
	var out []string
	for len(out) < n {
		for _, id := range memberIDs(n) {
			if scimstore.MemberHash(id)&1 == bit && len(out) < n {
				out = append(out, id)
			}
		}
	}
	return out
}

// summedMembers is the members of every live shard, added up: where a
// member's id is still written down, whatever EffectiveMembers makes of it.
func summedMembers(t *testing.T, ep types.NamespacedName, group string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, sh := range liveShards(t, ep, group) {
		for _, m := range sh.Spec.Members {
			out[m.Value] = append(out[m.Value], sh.Name)
		}
	}
	return out
}

// TestSplitStoppedHalfwayRevokesRemovedMembers (review): a split whose
// clearing write fails (an API server hiccup, a request timeout, a crash)
// leaves the frozen shard holding its members. Later writes go to its
// children, which exist, and never finish it; a member removed afterwards
// is still in the frozen shard, which the RoleBinding and TenantApp
// projections add up: the removal is answered as done and access stays.
func TestSplitStoppedHalfwayRevokesRemovedMembers(t *testing.T) {
	st := faultyReplica(t, 4)
	ep := namespace(t)
	group := newGroup(t, st, ep, "halfway")
	even, odd := idsByBit(3, 0), idsByBit(2, 1)
	first := append(slices.Clone(even[:2]), odd...)
	patch(t, st, ep, group, scimstore.MemberAdd, first, 4)
	// The fifth member splits the root: freeze, create two children, clear.
	failNth(4)
	if err := patchOnce(st, ep, group, scimstore.MemberAdd, even[2:]); err == nil {
		t.Fatal("the clearing write was failed but the PATCH succeeded")
	}
	noFaults()
	// The IdP retries, then removes a member that was in the root.
	patch(t, st, ep, group, scimstore.MemberAdd, even[2:], 1)
	gone := first[0]
	patch(t, st, ep, group, scimstore.MemberRemove, []string{gone}, 1)
	want := append(slices.Clone(first[1:]), even[2])
	checkMembers(t, st, ep, group, want)
	if where, ok := summedMembers(t, ep, group)[gone]; ok {
		t.Errorf("removed member %s is still in shards %v, which the RoleBinding and TenantApp projections add up", gone, where)
	}
	checkShards(t, ep, group, want, 4)
}

// TestRemovalFindsMemberAnOldReplicaLeftBeside (review): a group written
// in the new layout (<group>-0-0) to which a replica of the previous
// version (during a rolling upgrade, or after a rollback and roll-forward)
// added one member, as it does, into <group>-<fnv32a % 32>. The new
// version then reads the group as a legacy one and looks for members only
// in the 32 legacy shards: a removal of a member of <group>-0-0 is
// answered as done, and the member keeps its access.
func TestRemovalFindsMemberAnOldReplicaLeftBeside(t *testing.T) {
	st := replica(t, 16)
	ep := namespace(t)
	group := newGroup(t, st, ep, "mixed")
	ids := memberIDs(5)
	patch(t, st, ep, group, scimstore.MemberAdd, ids, 5)
	// The old version's add of x.
	x := memberIDs(1)[0]
	oldReplicaWrites(t, ep, group, x)
	want := append(slices.Clone(ids), x)
	checkMembers(t, st, ep, group, want)
	patch(t, st, ep, group, scimstore.MemberRemove, ids, 5)
	checkMembers(t, st, ep, group, []string{x})
	if left := summedMembers(t, ep, group); len(left) != 1 {
		t.Errorf("after removing %d members the shards still hold %d members: %v", len(ids), len(left), left)
	}
}

// TestRemovalsRaceSplitsOnAnotherReplica (review): one replica removes a
// group's members one PATCH at a time while another adds members that
// split the shards they are in; every removal finds its member.
func TestRemovalsRaceSplitsOnAnotherReplica(t *testing.T) {
	a, b := replica(t, 8), replica(t, 8)
	ep := namespace(t)
	for round := range 3 {
		group := newGroup(t, a, ep, fmt.Sprintf("race-%d", round))
		early := memberIDs(8)
		patch(t, a, ep, group, scimstore.MemberAdd, early, 8)
		late := memberIDs(60)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); retryPatch(t, b, ep, group, scimstore.MemberAdd, late, 3) }()
		go func() { defer wg.Done(); retryPatch(t, a, ep, group, scimstore.MemberRemove, early, 1) }()
		wg.Wait()
		checkShards(t, ep, group, late, 8)
		checkMembers(t, a, ep, group, late)
		checkMembers(t, b, ep, group, late)
		for id, where := range summedMembers(t, ep, group) {
			if slices.Contains(early, id) {
				t.Errorf("removed member %s is in %v", id, where)
			}
		}
	}
}

func retryPatch(t *testing.T, st *scimstore.Store, ep types.NamespacedName, group string, kind scimstore.MemberChangeKind, ids []string, batch int) {
	for len(ids) > 0 {
		n := min(batch, len(ids))
		if err := patchOnce(st, ep, group, kind, ids[:n]); err != nil {
			t.Errorf("PATCH: %v", err)
			continue
		}
		ids = ids[n:]
	}
}
