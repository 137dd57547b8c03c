package tenantdb_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestDeprovisioningGuard is the mass-deprovisioning guard seen from both
// projections (this package has the PostgreSQL the tenant side needs):
// revocations up to the limit are projected at once; beyond it SCIM still
// answers but RoleBindings and tenant rows keep the users, with a condition
// and an Event, until the approval annotation is set or the limit is raised.
//
// Every user here was just created, so the window's baseline (active users
// older than one window) is 0 and the limit is minRevocations: 4 per
// projection. The TenantApp asks the guard before it revokes; the RBAC
// projection, on this branch, only follows the DeprovisioningHeld condition
// the TenantApp's hold sets (it does not ask the guard itself yet).
//
// The guard tests do not run in parallel: every operator a test starts
// projects every namespace's TenantApps, and two projecting operators (which
// production never has but for a moment around a leader change) each count
// the same revocation against the ledger in the endpoint's status.
func TestDeprovisioningGuard(t *testing.T) {
	ctx := context.Background()
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta", func(e *scimv1.ScimEndpoint) {
		// Both projections count: each deactivation removes a subject and
		// deactivates a row, two revocations; eight are four users.
		e.Spec.DeprovisioningGuard = scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 8,
			Window: metav1.Duration{Duration: time.Hour}}
	})
	tn := newTenant(t, op.Client, ns, "app", "okta", "")
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = createUser(t, ep, fmt.Sprintf("guard-%02d@example.com", i))
	}
	gid := createGroup(t, ep, "everyone", ids...)
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "everyone"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "everyone"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}}
	if err := op.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	granted := func(id string) bool {
		var list rbacv1.RoleBindingList
		if err := op.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{rolebinding.LabelBindingUID: string(b.UID)}); err != nil {
			t.Fatal(err)
		}
		for _, rb := range list.Items {
			if slices.ContainsFunc(rb.Subjects, func(s rbacv1.Subject) bool { return s.Name == userName(id, ids) }) {
				return true
			}
		}
		return false
	}
	activeRow := func(u tenantdb.User, ok bool) bool { return ok && u.Active }
	inactiveRow := func(u tenantdb.User, ok bool) bool { return ok && !u.Active }
	waitGranted := func(id string, want bool) {
		t.Helper()
		testharness.Eventually(t, 30*time.Second, func() string {
			if granted(id) == want {
				return ""
			}
			return fmt.Sprintf("user %s granted=%v, want %v", id, !want, want)
		})
	}
	for _, id := range ids {
		waitGranted(id, true)
		tn.waitForRow(t, id, "active", activeRow)
	}
	held := func() *metav1.Condition {
		var e scimv1.ScimEndpoint
		if err := op.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "okta"}, &e); err != nil {
			t.Fatal(err)
		}
		return meta.FindStatusCondition(e.Status.Conditions, scimv1.ConditionDeprovisioningHeld)
	}
	waitHeld := func(want metav1.ConditionStatus) {
		t.Helper()
		testharness.Eventually(t, 30*time.Second, func() string {
			if c := held(); c != nil && c.Status == want {
				return ""
			}
			var e scimv1.ScimEndpoint
			_ = op.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "okta"}, &e)
			return fmt.Sprintf("DeprovisioningHeld is %+v, want %s; ledger %+v", held(), want, e.Status.Deprovisioning)
		})
	}

	// minRevocations: four users (eight revocations) are projected at once, one by one.
	for _, id := range ids[:4] {
		setActive(t, ep, id, false)
		waitGranted(id, false)
		tn.waitForRow(t, id, "inactive", inactiveRow)
	}
	waitHeld(metav1.ConditionFalse)

	// The fifth crosses the limit; once the hold is in place, further
	// deactivations and a deletion are answered but not projected.
	setActive(t, ep, ids[4], false)
	waitHeld(metav1.ConditionTrue)
	for _, id := range ids[5:8] {
		setActive(t, ep, id, false)
	}
	deleteResource(t, ep, "/Users/"+ids[8])
	if r := ep.Do(t, "GET", "/Users/"+ids[8], nil); r.Status != 404 {
		t.Fatalf("GET of a deleted, held user answered %d, want 404", r.Status)
	}
	// A barrier: a user added now is projected by passes that also saw the
	// held revocations above.
	late := createUser(t, ep, "guard-late@example.com")
	addMembers(t, ep, gid, late)
	waitGranted(late, true)
	tn.waitForRow(t, late, "active", activeRow)
	for _, id := range ids[5:9] {
		if !granted(id) {
			t.Errorf("user %s lost its RoleBinding subject while revocations are held", id)
		}
		if u, ok := tn.row(id); !activeRow(u, ok) {
			t.Errorf("user %s: tenant row %+v (present %v) while revocations are held, want active", id, u, ok)
		}
	}
	waitEvent(t, op, ns, "RevocationsHeld")

	// Approval releases everything held, and is consumed.
	approve := client.RawPatch("application/merge-patch+json",
		[]byte(`{"metadata":{"annotations":{"`+scimv1.AnnotationApproveDeprovisioning+`":"alice"}}}`))
	if err := op.Client.Patch(ctx, &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta"}}, approve); err != nil {
		t.Fatal(err)
	}
	waitHeld(metav1.ConditionFalse)
	for _, id := range ids[4:9] {
		waitGranted(id, false)
	}
	for _, id := range ids[4:8] {
		tn.waitForRow(t, id, "inactive after approval", inactiveRow)
	}
	tn.waitForRow(t, ids[8], "deleted after approval", func(_ tenantdb.User, ok bool) bool { return !ok })
	var e scimv1.ScimEndpoint
	if err := op.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "okta"}, &e); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Annotations[scimv1.AnnotationApproveDeprovisioning]; ok {
		t.Errorf("the approval annotation is still there (%q) after it was applied", v)
	}

	// A new window from the approval: five more trip it again; raising the
	// limit (the baseline is still 0: minRevocations is the limit) releases.
	for _, id := range ids[9:14] {
		setActive(t, ep, id, false)
	}
	waitHeld(metav1.ConditionTrue)
	raise := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"deprovisioningGuard":{"minRevocations":100}}}`))
	if err := op.Client.Patch(ctx, &e, raise); err != nil {
		t.Fatal(err)
	}
	waitHeld(metav1.ConditionFalse)
	for _, id := range ids[9:14] {
		waitGranted(id, false)
		tn.waitForRow(t, id, "inactive after the limit was raised", inactiveRow)
	}
}

// userName is the userName createUser gave id (its RBAC subject name).
func userName(id string, ids []string) string {
	if i := slices.Index(ids, id); i >= 0 {
		return fmt.Sprintf("guard-%02d@example.com", i)
	}
	return "guard-late@example.com"
}

// waitEvent waits for an Event with reason in ns.
func waitEvent(t *testing.T, op *testharness.Operator, ns, reason string) {
	t.Helper()
	testharness.Eventually(t, 30*time.Second, func() string {
		var list eventsv1.EventList
		if err := op.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		for _, ev := range list.Items {
			if ev.Reason == reason {
				return ""
			}
		}
		return "no Event with reason " + reason
	})
}

// guardedEndpoint starts the operator with an endpoint okta in a fresh
// namespace whose guard is g, and a TenantApp of it (mutated by mutate).
func guardedEndpoint(t *testing.T, g scimv1.DeprovisioningGuard, mutate ...func(*scimv1.TenantApp)) (*testharness.Operator, *testharness.Endpoint, *tenant) {
	t.Helper()
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta", func(e *scimv1.ScimEndpoint) { e.Spec.DeprovisioningGuard = g })
	return op, ep, newTenant(t, op.Client, ns, "app", "okta", "", mutate...)
}

// waitEndpointHeld waits until the endpoint's DeprovisioningHeld is True.
func waitEndpointHeld(t *testing.T, op *testharness.Operator, ns string) {
	t.Helper()
	testharness.Eventually(t, 30*time.Second, func() string {
		var e scimv1.ScimEndpoint
		if err := op.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "okta"}, &e); err != nil {
			return err.Error()
		}
		if e.RevocationsHeld() {
			return ""
		}
		return fmt.Sprintf("endpoint not held; ledger %+v", e.Status.Deprovisioning)
	})
}

// revoked lists the ids whose row is inactive or gone.
func revoked(t *testing.T, tn *tenant, ids []string) []string {
	t.Helper()
	st, err := tn.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	active := map[string]bool{}
	for _, u := range st.Users {
		active[u.ID] = u.Active
	}
	var out []string
	for _, id := range ids {
		if !active[id] {
			out = append(out, id)
		}
	}
	return out
}

// projectedAfter creates a user and waits for its row: a barrier after which
// the TenantApp's passes have seen every earlier write to the endpoint's
// users (one informer delivers them in order).
func projectedAfter(t *testing.T, ep *testharness.Endpoint, tn *tenant, userName string) {
	t.Helper()
	id := createUser(t, ep, userName)
	tn.waitForRow(t, id, "active (barrier)", func(u tenantdb.User, ok bool) bool { return ok && u.Active })
}

// TestGuardBaselineIgnoresNewUsers: users created just before a mass
// revocation do not raise the limit. Ten users older than the window (3 s),
// forty created just now: 20% allows 2 of the 10 (the baseline is 10, not
// 50, which would allow all 10).
func TestGuardBaselineIgnoresNewUsers(t *testing.T) {
	op, ep, tn := guardedEndpoint(t, scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 1,
		Window: metav1.Duration{Duration: 3 * time.Second}})
	real := createUsers(t, ep, "real", 10)
	waitActive(t, tn, real)
	time.Sleep(4 * time.Second) // older than one window
	createUsers(t, ep, "dummy", 40)
	deactivateAll(t, ep, real)
	waitEndpointHeld(t, op, tn.Key.Namespace)
	projectedAfter(t, ep, tn, "barrier@example.com")
	if got := revoked(t, tn, real); len(got) > 2 {
		t.Errorf("%d of 10 rows revoked (%v), want at most 2 (20%% of the 10 settled users)", len(got), got)
	}
}

// TestGuardHoldsScopeGroupDeletion: deleting the group that scopes an app
// takes every member out of scope; it is a mass revocation, held like
// deactivations (the scope is pinned: the deleted group is no error).
func TestGuardHoldsScopeGroupDeletion(t *testing.T) {
	op, ep, tn := guardedEndpoint(t, scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 2,
		Window: metav1.Duration{Duration: time.Hour}}, func(a *scimv1.TenantApp) {
		a.Spec.Scope.Groups = []string{"Staff"}
		a.Spec.DeactivationPolicy = scimv1.DeactivationDelete
	})
	ids := createUsers(t, ep, "staff", 8)
	gid := createGroup(t, ep, "Staff", ids...)
	waitActive(t, tn, ids)
	testharness.Eventually(t, 30*time.Second, func() string {
		if len(tn.app(t).Status.ScopeGroups) == 1 {
			return ""
		}
		return "scope group not pinned yet"
	})
	deleteResource(t, ep, "/Groups/"+gid)
	waitEndpointHeld(t, op, tn.Key.Namespace)
	// Barrier: the group's row goes (groups are not guarded) in a pass that
	// saw the deletion.
	testharness.Eventually(t, 30*time.Second, func() string {
		st, err := tn.snapshot()
		if err != nil || len(st.Groups) != 0 {
			return fmt.Sprintf("group rows %+v (err %v), want none", st.Groups, err)
		}
		return ""
	})
	// The SCIM server deletes the membership shards one by one before the
	// group, so passes may see the members leave in steps: up to the limit
	// (2) may go, the rest are held.
	if got := revoked(t, tn, ids); len(got) > 2 {
		t.Errorf("rows %v revoked after the scope group was deleted, want at most 2, the rest kept while held", got)
	}
	if c := tn.condition(t, scimv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v, want True (a deleted pinned group is no error)", c)
	}
}

// TestGuardBurst: twenty deactivations sent concurrently, as fast as the
// SCIM server takes them, revoke no more rows than the limit: the guard
// counts before the rows are written, not after.
func TestGuardBurst(t *testing.T) {
	op, ep, tn := guardedEndpoint(t, scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 5,
		Window: metav1.Duration{Duration: time.Hour}})
	ids := createUsers(t, ep, "burst", 30)
	waitActive(t, tn, ids)
	deactivateAll(t, ep, ids[:20])
	waitEndpointHeld(t, op, tn.Key.Namespace)
	projectedAfter(t, ep, tn, "barrier@example.com")
	if got := revoked(t, tn, ids); len(got) > 5 {
		t.Errorf("%d rows revoked by a burst of 20 deactivations (%v), want at most 5", len(got), got)
	}
}

// deactivateAll deactivates ids with concurrent PATCHes.
func deactivateAll(t *testing.T, ep *testharness.Endpoint, ids []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(ids))
	for _, id := range ids {
		wg.Go(func() {
			body := map[string]any{"schemas": []string{patchURN},
				"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}}
			if r := ep.Do(t, "PATCH", "/Users/"+id, body); r.Status != http.StatusOK && r.Status != http.StatusNoContent {
				errs <- fmt.Sprintf("PATCH /Users/%s: %d %s", id, r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
