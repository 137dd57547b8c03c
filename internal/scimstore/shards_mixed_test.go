package scimstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// oldReplicaAdds writes what a replica of the previous version writes to
// add id to group: the legacy shard <group>-<fnv32a % 32>.
func oldReplicaAdds(t *testing.T, ep types.NamespacedName, group, id string) string {
	t.Helper()
	n := int32(scimstore.MemberHash(id) % scimv1.MembershipShards)
	sh := &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: fmt.Sprintf("%s-%d", group, n),
		Labels: map[string]string{scimv1.LabelEndpoint: ep.Name, scimv1.LabelGroup: group}},
		Spec: scimv1.ScimMembershipSpec{Group: group, Shard: n, Members: []scimv1.Member{{Value: id}}}}
	if err := k8s.Create(context.Background(), sh); err != nil {
		t.Fatal(err)
	}
	return sh.Name
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
	legacy := oldReplicaAdds(t, ep, group, x)
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
