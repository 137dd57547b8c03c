package operations

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestRollingUpgradeKeepsTheOlderReplicasLayout: during a rolling upgrade a
// pod of the version before the shard tree (no membership-layout
// annotation) serves beside the new one. It removes a member only from the
// legacy shard <group>-<fnv32a % 32>, so the new replica writes groups
// there while that pod exists, and the old replica's removal revokes. Once
// the pod is gone and its ReplicaSet wants no more, new groups get the tree
// (docs/upgrading.md item 20).
func TestRollingUpgradeKeepsTheOlderReplicasLayout(t *testing.T) {
	ctx := context.Background()
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	podNS := testharness.UniqueName("peers")
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: podNS}}); err != nil {
		t.Fatal(err)
	}
	pod := func(name string, annotations map[string]string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: podNS, Name: name, Annotations: annotations,
			Labels: map[string]string{"app.kubernetes.io/component": "scim"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "scim-operator:test"}}}}
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := pod("scim-old", nil)
	pod("scim-new", map[string]string{operator.AnnotationMembershipLayout: operator.MembershipLayoutTree})

	op := start(t, testharness.Options{SCIMPeers: operator.Peers{Namespace: podNS, Selector: "app.kubernetes.io/component=scim"}})
	ns := testharness.UniqueName("upgrade")
	e := op.NewEndpoint(t, ns, "okta")
	var ids []string
	for i := range 40 {
		res := e.Do(t, http.MethodPost, "/Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": fmt.Sprintf("u%02d@example.com", i), "active": true})
		if res.Status != http.StatusCreated {
			t.Fatalf("POST /Users = %d: %s", res.Status, res.Body)
		}
		ids = append(ids, res.JSON(t)["id"].(string))
	}
	newGroup := func(name string) string {
		members := make([]map[string]string, len(ids))
		for i, id := range ids {
			members[i] = map[string]string{"value": id}
		}
		res := e.Do(t, http.MethodPost, "/Groups", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": members})
		if res.Status != http.StatusCreated {
			t.Fatalf("POST /Groups = %d: %s", res.Status, res.Body)
		}
		return res.JSON(t)["id"].(string)
	}
	shards := func(group string) []scimv1.ScimMembership {
		var list scimv1.ScimMembershipList
		if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{scimv1.LabelGroup: group}); err != nil {
			t.Fatal(err)
		}
		return list.Items
	}

	group := newGroup("rolling")
	for _, sh := range shards(group) {
		if sh.Spec.Depth != nil {
			t.Errorf("beside an older pod, shard %s was written in the tree layout (depth %d)", sh.Name, *sh.Spec.Depth)
		}
	}
	// The older replica removes the first ten as it does: from the legacy
	// shard of each, and nowhere else.
	for _, id := range ids[:10] {
		var sh scimv1.ScimMembership
		key := types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("%s-%d", group, scimstore.MemberHash(id)%scimv1.MembershipShards)}
		if err := c.Get(ctx, key, &sh); err != nil {
			t.Fatalf("the older replica finds no shard %s for member %s: %v", key.Name, id, err)
		}
		sh.Spec.Members = slices.DeleteFunc(sh.Spec.Members, func(m scimv1.Member) bool { return m.Value == id })
		if err := c.Update(ctx, &sh); err != nil {
			t.Fatal(err)
		}
	}
	testharness.Eventually(t, 10*time.Second, func() string {
		res := e.Do(t, http.MethodGet, "/Groups/"+group, nil)
		members, _ := res.JSON(t)["members"].([]any)
		return testharness.Unless(len(members) == 30, "the removals revoked", fmt.Sprintf("%d members", len(members)))
	})

	// The older pod is force-deleted while its ReplicaSet still wants it:
	// a replacement of the older version is coming, so writes stay legacy.
	replicas := int32(1)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: podNS, Name: "scim-old",
		Labels: map[string]string{"app.kubernetes.io/component": "scim"}},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/component": "scim"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/component": "scim"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: "scim-operator:old"}}}}}}
	if err := c.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, old, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, 10*time.Second, func() string {
		var p corev1.Pod
		err := c.Get(ctx, client.ObjectKeyFromObject(old), &p)
		return testharness.Unless(apierrors.IsNotFound(err), "the older pod is gone", fmt.Sprintf("get: %v", err))
	})
	time.Sleep(time.Second) // the gate's watch sees the deletion
	for _, sh := range shards(newGroup("replacing")) {
		if sh.Spec.Depth != nil {
			t.Errorf("while an older ReplicaSet wants a pod, shard %s was written in the tree layout", sh.Name)
		}
	}

	// The rollout ends: the older ReplicaSet is scaled to zero, and new
	// groups are trees.
	rs.Spec.Replicas = new(int32)
	if err := c.Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	n := 0
	testharness.Eventually(t, 30*time.Second, func() string {
		n++
		tree := slices.ContainsFunc(shards(newGroup(fmt.Sprintf("after-%d", n))), func(sh scimv1.ScimMembership) bool {
			return sh.Spec.Depth != nil && *sh.Spec.Depth == 0
		})
		return testharness.Unless(tree, "a new group is a tree", "a new group is still in the legacy layout")
	})
}
