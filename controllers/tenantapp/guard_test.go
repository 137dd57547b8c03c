package tenantapp_test

import (
	"context"
	"fmt"
	"slices"
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

// TestDeprovisioningGuard is the mass-deprovisioning guard of the ScimEndpoint
// controller seen from both projections (this package has the PostgreSQL the
// tenant side needs): revocations up to the limit are projected at once;
// beyond it SCIM still answers but RoleBindings and tenant rows keep the
// users, with a condition and an Event, until the approval annotation is set
// or the limit is raised.
func TestDeprovisioningGuard(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	op := startOperator(t)
	ns := namespaceFor(t)
	ep := op.NewEndpoint(t, ns, "okta", func(e *scimv1.ScimEndpoint) {
		e.Spec.DeprovisioningGuard = scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 2,
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
		eventually(t, 30*time.Second, func() string {
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
		eventually(t, 30*time.Second, func() string {
			if c := held(); c != nil && c.Status == want {
				return ""
			}
			return fmt.Sprintf("DeprovisioningHeld is %+v, want %s", held(), want)
		})
	}

	// 20% of 20 users: four revocations are projected at once, one by one.
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

	// A new window from the approval: trip again, then raise the limit.
	for _, id := range ids[9:13] {
		setActive(t, ep, id, false)
	}
	waitHeld(metav1.ConditionTrue)
	setActive(t, ep, ids[13], false)
	raise := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"deprovisioningGuard":{"maxPercent":100}}}`))
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
	eventually(t, 30*time.Second, func() string {
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
