package rolebinding_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestFrozenSplitShardGrantsNoRemovedMember: a split stopped half-way
// leaves the frozen root holding its members; a member since removed from
// the child that covers it is no subject, as the SCIM server no longer
// lists it (docs/architecture.md#group-membership).
func TestFrozenSplitShardGrantsNoRemovedMember(t *testing.T) {
	ctx := context.Background()
	ns := testharness.SeedNamespace(t, k8s)
	testharness.SeedEndpoint(t, k8s, ns, "okta")
	ids := []string{"alice", "bob", "carol"}
	for _, id := range ids {
		testharness.SeedUser(t, k8s, ns, "okta", id, id+"@example.com", true)
	}
	g := testharness.SeedGroup(t, k8s, ns, "okta", "g-split", "split")
	shard := func(depth, index int32, split bool, members ...string) {
		t.Helper()
		sh := &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: scimstore.ShardName(g.Name, &depth, index),
			Labels: map[string]string{scimv1.LabelEndpoint: "okta", scimv1.LabelGroup: g.Name}},
			Spec: scimv1.ScimMembershipSpec{Group: g.Name, Depth: &depth, Shard: index, Split: split}}
		for _, id := range members {
			sh.Spec.Members = append(sh.Spec.Members, scimv1.Member{Value: id, Type: "User"})
		}
		if err := k8s.Create(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	// The frozen root still holds everyone; bob was removed from his child.
	shard(0, 0, true, ids...)
	children := map[int32][]string{}
	for _, id := range ids {
		i := int32(scimstore.MemberHash(id) & 1)
		if id != "bob" {
			children[i] = append(children[i], id)
		} else if children[i] == nil {
			children[i] = []string{}
		}
	}
	for i, ms := range children {
		shard(1, i, false, ms...)
	}
	b := bind(t, ns, "split", "split", view)
	wantSubjects(t, string(b.UID), ns, "alice@example.com", "carol@example.com")
}
