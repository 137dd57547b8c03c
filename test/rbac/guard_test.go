package rbac_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// The deprovisioning guard seen from the RBAC projection: revocations are
// counted where subjects are removed, decided before they are, and the
// decision is kept in the endpoint's status.

func guarded(maxPercent, minRevocations int32, window time.Duration) func(*scimv1.ScimEndpoint) {
	return func(e *scimv1.ScimEndpoint) {
		e.Spec.DeprovisioningGuard = scimv1.DeprovisioningGuard{MaxPercent: maxPercent, MinRevocations: minRevocations,
			Window: metav1.Duration{Duration: window}}
	}
}

func users(t *testing.T, ep *testharness.Endpoint, prefix string, n int) (ids, names []string) {
	t.Helper()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%02d@example.com", prefix, i)
		ids = append(ids, createUser(t, ep, name))
		names = append(names, name)
	}
	return ids, names
}

func deactivate(t *testing.T, ep *testharness.Endpoint, id string) {
	t.Helper()
	patch(t, ep, "/Users/"+id, map[string]any{"op": "replace", "value": map[string]any{"active": false}})
}

// held reads whether the endpoint's guard holds revocations.
func held(t *testing.T, c client.Client, ep *testharness.Endpoint) (bool, *scimv1.ScimEndpoint) {
	t.Helper()
	var e scimv1.ScimEndpoint
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ep.Namespace, Name: ep.Name}, &e); err != nil {
		t.Fatal(err)
	}
	return meta.IsStatusConditionTrue(e.Status.Conditions, scimv1.ConditionDeprovisioningHeld), &e
}

func waitHeld(t *testing.T, c client.Client, ep *testharness.Endpoint) {
	t.Helper()
	testharness.Eventually(t, waitLimit, func() string {
		h, e := held(t, c, ep)
		return testharness.Unless(h, "the guard holds", fmt.Sprintf("%+v", e.Status.Deprovisioning))
	})
}

func approve(t *testing.T, c client.Client, ep *testharness.Endpoint) {
	t.Helper()
	p := client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+scimv1.AnnotationApproveDeprovisioning+`":"test"}}}`))
	if err := c.Patch(context.Background(), &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: ep.Name}}, p); err != nil {
		t.Fatal(err)
	}
}

// TestGuardHoldsAGroupDeletion: deleting a bound group is a revocation of
// all its members, and is held like deactivations are.
func TestGuardHoldsAGroupDeletion(t *testing.T) {
	t.Parallel()
	ep := op.NewEndpoint(t, "guard-group-delete", "okta", guarded(20, 3, time.Hour))
	ids, names := users(t, ep, "member", 6)
	gid := createGroup(t, ep, "everyone", ids...)
	b := bind(t, ep.Namespace, "everyone", "okta", "everyone", view)
	wantSubjects(t, string(b.UID), ep.Namespace, names...)
	if r := ep.Do(t, "DELETE", "/Groups/"+gid, nil); r.Status != 204 {
		t.Fatalf("DELETE /Groups: %d %s", r.Status, r.Body)
	}
	waitHeld(t, op.Client, ep)
	// Deleting a group removes its membership shards first, which passes
	// may see as member removals: up to the limit (3) may go, the rest stay.
	if got := subjects(t, string(b.UID), ep.Namespace); len(names)-len(got) > 3 {
		t.Fatalf("subjects %v while the deletion of their group is held: more than the limit of 3 revoked", got)
	}
	approve(t, op.Client, ep)
	wantSubjects(t, string(b.UID), ep.Namespace)
}

// TestGuardIgnoresPadding: users created within the window do not raise the
// limit. 10 established users, 40 new ones, then the 10 established ones are
// deactivated: with the live count as denominator (50 users, 20%) all ten
// would go; with the frozen baseline of 10 established users, two do.
func TestGuardIgnoresPadding(t *testing.T) {
	t.Parallel()
	const window = 3 * time.Second
	ep := op.NewEndpoint(t, "guard-padding", "okta", guarded(20, 1, window))
	ids, names := users(t, ep, "real", 10)
	createGroup(t, ep, "real-people", ids...)
	b := bind(t, ep.Namespace, "real", "okta", "real-people", view)
	wantSubjects(t, string(b.UID), ep.Namespace, names...)
	time.Sleep(window + 500*time.Millisecond) // the real users are now older than a window
	users(t, ep, "padding", 40)
	for _, id := range ids {
		deactivate(t, ep, id)
	}
	waitHeld(t, op.Client, ep)
	// A barrier: a pass after every deactivation above.
	late := createUser(t, ep, "late@example.com")
	patch(t, ep, "/Groups/"+groupID(t, ep, "real-people"), map[string]any{"op": "add", "path": "members",
		"value": []any{map[string]any{"value": late}}})
	testharness.Eventually(t, waitLimit, func() string {
		got := subjects(t, string(b.UID), ep.Namespace)
		for _, s := range got {
			if s == "late@example.com" {
				return ""
			}
		}
		return "the late member is granted; last state: " + fmt.Sprint(got)
	})
	got := subjects(t, string(b.UID), ep.Namespace)
	if revoked := len(names) + 1 - len(got); revoked > 2 {
		t.Fatalf("%d subjects revoked (%v left); the baseline of 10 established users allows 2", revoked, got)
	}
	_, e := held(t, op.Client, ep)
	if e.Status.Deprovisioning.Baseline != 10 {
		t.Errorf("baseline %d, want the 10 users older than the window", e.Status.Deprovisioning.Baseline)
	}
}

// TestGuardHoldsABurst: deactivations sent concurrently, as fast as the
// endpoint accepts them, do not slip past the limit before the hold.
func TestGuardHoldsABurst(t *testing.T) {
	t.Parallel()
	ep := op.NewEndpoint(t, "guard-burst", "okta", guarded(20, 5, time.Hour))
	ids, names := users(t, ep, "burst", 30)
	createGroup(t, ep, "burst", ids...)
	b := bind(t, ep.Namespace, "burst", "okta", "burst", view)
	wantSubjects(t, string(b.UID), ep.Namespace, names...)
	var wg sync.WaitGroup
	for _, id := range ids[:20] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := sendPatch(ep, id, `{"schemas":["`+patchURN+`"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
			if err != nil || r != 200 {
				t.Errorf("PATCH %s: %d %v", id, r, err)
			}
		}()
	}
	wg.Wait()
	waitHeld(t, op.Client, ep)
	time.Sleep(time.Second) // let every pass that saw the burst finish
	if got := subjects(t, string(b.UID), ep.Namespace); len(names)-len(got) > 5 {
		t.Fatalf("%d subjects revoked in a burst of 20 deactivations; the limit is 5", len(names)-len(got))
	}
}

// TestGuardSurvivesFailover: a hold and its counts live in the endpoint's
// status, so an operator that starts after the leader died keeps holding.
func TestGuardSurvivesFailover(t *testing.T) {
	t.Parallel()
	cp, err := controlplane.Start(controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	first, err := testharness.StartOperator(cp, false)
	if err != nil {
		t.Fatal(err)
	}
	ep := first.NewEndpoint(t, "guard-failover", "okta", guarded(20, 2, time.Hour))
	ids, names := users(t, ep, "stay", 8)
	createGroup(t, ep, "stay", ids...)
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: "stay"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "stay"}, RoleRef: view}}
	if err := first.Client.Create(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	subjectsOn := func(c client.Client) []string {
		return subjectsWith(t, c, string(b.UID), ep.Namespace)
	}
	testharness.Eventually(t, waitLimit, func() string {
		got := subjectsOn(first.Client)
		return testharness.Unless(len(got) == 8, "all granted", fmt.Sprint(got))
	})
	for _, id := range ids[:5] {
		deactivate(t, ep, id)
	}
	waitHeld(t, first.Client, ep)
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	before := subjectsOn(first.Client)
	second, err := testharness.StartOperator(cp, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	ep2 := *ep
	ep2.BaseURL = "http://" + second.Addr + "/scim/v2/" + ep.Namespace + "/okta"
	// The new operator's first full pass has run once a new member shows.
	late := createUser(t, &ep2, "stay-late@example.com")
	patch(t, &ep2, "/Groups/"+groupID(t, &ep2, "stay"), map[string]any{"op": "add", "path": "members",
		"value": []any{map[string]any{"value": late}}})
	testharness.Eventually(t, waitLimit, func() string {
		got := subjectsOn(second.Client)
		return testharness.Unless(len(got) == len(before)+1, "the new operator grants a new member", fmt.Sprint(got))
	})
	if h, e := held(t, second.Client, &ep2); !h {
		t.Fatalf("after the failover the hold is gone: %+v", e.Status)
	}
	if got := subjectsOn(second.Client); len(got) != len(before)+1 {
		t.Fatalf("subjects %v after the failover, want the %d held ones and the new member", got, len(before))
	}
	approve(t, second.Client, &ep2)
	testharness.Eventually(t, waitLimit, func() string {
		got := subjectsOn(second.Client)
		return testharness.Unless(len(got) == 8-5+1, "the approval releases the held revocations", fmt.Sprint(got))
	})
	_ = names
}
