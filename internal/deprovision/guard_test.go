package deprovision

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/kube"
)

// TestAdmit walks the guard's ledger through one endpoint's life with a fake
// client (the policy alone; the projections' use of it is tested against the
// real API server in controllers/rolebinding and controllers/tenantapp).
func TestAdmit(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	key := types.NamespacedName{Namespace: "ns", Name: "okta"}
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "okta"},
		Spec: scimv1.ScimEndpointSpec{DeprovisioningGuard: scimv1.DeprovisioningGuard{
			MaxPercent: 10, MinRevocations: 3, Window: metav1.Duration{Duration: time.Hour}}}}
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(ep).WithStatusSubresource(ep).Build()
	var users []*scimv1.ScimUser
	for i := 0; i < 100; i++ { // 100 users created two hours ago
		users = append(users, &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0.Add(-2 * time.Hour))},
			Spec: scimv1.ScimUserSpec{Active: true}})
	}
	for i := 0; i < 400; i++ { // 400 padding users created a minute ago
		users = append(users, &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0.Add(-time.Minute))},
			Spec: scimv1.ScimUserSpec{Active: true}})
	}
	g := &Guard{Client: c, APIReader: c, Now: func() time.Time { return now },
		Users: func(context.Context, types.NamespacedName) ([]*scimv1.ScimUser, error) { return users, nil }}
	admit := func(projection string, n int, want bool) {
		t.Helper()
		got, err := g.Admit(ctx, key, projection, n)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("at %v: Admit(%s, %d) = %v, want %v; status %+v", now.Sub(t0), projection, n, got, want, status(t, c, key))
		}
	}
	evaluate := func() bool {
		t.Helper()
		approved, err := g.Evaluate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return approved
	}

	// An approval while nothing is held releases nothing in advance.
	approveNow := func() {
		t.Helper()
		ep2 := &scimv1.ScimEndpoint{}
		_ = c.Get(ctx, key, ep2)
		ep2.Annotations = map[string]string{scimv1.AnnotationApproveDeprovisioning: "alice"}
		if err := c.Update(ctx, ep2); err != nil {
			t.Fatal(err)
		}
		if !evaluate() {
			t.Fatal("the approval was not reported consumed")
		}
		_ = c.Get(ctx, key, ep2)
		ep2.Annotations = nil
		if err := c.Update(ctx, ep2); err != nil {
			t.Fatal(err)
		}
	}
	approveNow()

	// Baseline 100 (the padding does not count): 10 revocations in all.
	admit("ScimRoleBinding/ns/a", 6, true)
	if st := status(t, c, key); st.Deprovisioning.Baseline != 100 || st.Deprovisioning.Allowed != 10 {
		t.Fatalf("baseline %d allowed %d, want 100 and 10", st.Deprovisioning.Baseline, st.Deprovisioning.Allowed)
	}
	admit("ScimRoleBinding/ns/b", 4, true) // projections add up: spreading users over bindings buys nothing
	admit("TenantApp/ns/app", 1, false)    // 11 > 10: held, nothing applied
	if !held(t, c, key) {
		t.Fatal("not held after a refused batch")
	}
	admit("ScimRoleBinding/ns/a", 5, false) // every projection of the endpoint is held
	admit("ScimRoleBinding/ns/b", 0, true)

	// Time alone releases nothing.
	now = t0.Add(3 * time.Hour)
	evaluate()
	admit("ScimRoleBinding/ns/a", 5, false)
	if !held(t, c, key) {
		t.Fatal("the hold ended with time")
	}

	// An approval releases exactly what was pending, and opens a new window.
	approveNow()
	if held(t, c, key) {
		t.Fatal("still held after the approval")
	}
	admit("ScimRoleBinding/ns/a", 5, true) // the approved five
	admit("TenantApp/ns/app", 1, true)     // the approved one
	// Three hours on, the padding users are established: baseline 500.
	if st := status(t, c, key); st.Deprovisioning.Baseline != 500 || st.Deprovisioning.Allowed != 50 {
		t.Fatalf("baseline %d allowed %d after the approval, want 500 and 50", st.Deprovisioning.Baseline, st.Deprovisioning.Allowed)
	}
	admit("ScimRoleBinding/ns/a", 50, true) // the credit did not count against the window
	admit("ScimRoleBinding/ns/a", 1, false) // the new window's limit

	// Raising the limit above what is pending releases the hold.
	ep2 := &scimv1.ScimEndpoint{}
	_ = c.Get(ctx, key, ep2)
	ep2.Spec.DeprovisioningGuard.MaxPercent = 20
	if err := c.Update(ctx, ep2); err != nil {
		t.Fatal(err)
	}
	evaluate()
	if held(t, c, key) {
		t.Fatalf("still held after the limit was raised: %+v", status(t, c, key).Deprovisioning)
	}
	admit("ScimRoleBinding/ns/a", 1, true)

	// maxPercent 0 turns the guard off.
	_ = c.Get(ctx, key, ep2)
	ep2.Spec.DeprovisioningGuard.MaxPercent = 0
	if err := c.Update(ctx, ep2); err != nil {
		t.Fatal(err)
	}
	evaluate()
	admit("ScimRoleBinding/ns/a", 1000, true)
}

func status(t *testing.T, c client.Client, key types.NamespacedName) scimv1.ScimEndpointStatus {
	t.Helper()
	var ep scimv1.ScimEndpoint
	if err := c.Get(context.Background(), key, &ep); err != nil {
		t.Fatal(err)
	}
	return ep.Status
}

func held(t *testing.T, c client.Client, key types.NamespacedName) bool {
	t.Helper()
	var ep scimv1.ScimEndpoint
	if err := c.Get(context.Background(), key, &ep); err != nil {
		t.Fatal(err)
	}
	return ep.RevocationsHeld()
}

// TestBaselineLeavesOutReactivatedUsers: re-activating long-deactivated users
// just before a mass revocation does not raise the limit.
func TestBaselineLeavesOutReactivatedUsers(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	old := metav1.NewTime(now.Add(-48 * time.Hour))
	var users []*scimv1.ScimUser
	for i := 0; i < 100; i++ {
		u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: old}, Spec: scimv1.ScimUserSpec{Active: true}}
		if i >= 20 { // 80 re-activated a minute ago
			u.Annotations = map[string]string{scimv1.AnnotationActivatedAt: now.Add(-time.Minute).Format(time.RFC3339Nano)}
		}
		users = append(users, u)
	}
	ep := &scimv1.ScimEndpoint{Spec: scimv1.ScimEndpointSpec{DeprovisioningGuard: scimv1.DeprovisioningGuard{
		MaxPercent: 20, MinRevocations: 1, Window: metav1.Duration{Duration: time.Hour}}}}
	g := &Guard{Users: func(context.Context, types.NamespacedName) ([]*scimv1.ScimUser, error) { return users, nil }}
	if err := g.setBaseline(context.Background(), ep, now); err != nil {
		t.Fatal(err)
	}
	if st := ep.Status.Deprovisioning; st.Baseline != 20 || st.Allowed != 4 {
		t.Fatalf("baseline %d allowed %d, want the 20 users active a whole window (4 allowed)", st.Baseline, st.Allowed)
	}
}
