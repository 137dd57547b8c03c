package endpoint

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func TestEvaluateGuard(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "okta", Annotations: map[string]string{}},
		Spec: scimv1.ScimEndpointSpec{DeprovisioningGuard: scimv1.DeprovisioningGuard{
			MaxPercent: 10, MinRevocations: 3, Window: metav1.Duration{Duration: time.Hour}}}}
	users := make([]scimv1.ScimUser, 100)
	for i := range users {
		users[i].Spec.Active = true
	}
	deactivate := func(n int, at time.Time) {
		for i := range users {
			if n > 0 && users[i].Spec.Active {
				users[i].Spec.Active = false
				users[i].Annotations = map[string]string{scimv1.AnnotationDeactivatedAt: at.Format(time.RFC3339Nano)}
				n--
			}
		}
	}
	r := &Reconciler{}
	check := func(now time.Time, wantRevoked, wantAllowed int, wantHeld bool) {
		t.Helper()
		s, c := r.evaluateGuard(ep, users, now)
		if s.revoked != wantRevoked || s.allowed != wantAllowed || (c.Status == metav1.ConditionTrue) != wantHeld {
			t.Fatalf("at %s: revoked %d allowed %d held %v (%s), want %d %d %v",
				now.Sub(t0), s.revoked, s.allowed, c.Status, c.Message, wantRevoked, wantAllowed, wantHeld)
		}
	}

	deactivate(10, t0)
	check(t0, 10, 10, false) // exactly the limit: nothing held
	r.deleted.record(types.NamespacedName{Namespace: "ns", Name: "okta"}, "deleted-1", t0.Add(time.Minute))
	check(t0.Add(time.Minute), 11, 10, true) // a deletion crosses it

	// Time alone releases nothing: the window is frozen while held.
	check(t0.Add(3*time.Hour), 11, 10, true)

	// Raising the limit above the count releases.
	ep.Spec.DeprovisioningGuard.MaxPercent = 20
	check(t0.Add(3*time.Hour), 11, 20, false)
	// With the window no longer frozen, old revocations age out of it.
	ep.Spec.DeprovisioningGuard.MaxPercent = 10
	check(t0.Add(3*time.Hour), 0, 9, false)

	// Approval: what came before it no longer counts, even in the same second.
	at := t0.Add(4 * time.Hour)
	deactivate(12, at)
	check(at, 12, 9, true)
	ep.Annotations[scimv1.AnnotationApproveDeprovisioning] = "alice"
	check(at.Add(time.Millisecond), 0, 7, false)
	delete(ep.Annotations, scimv1.AnnotationApproveDeprovisioning)
	deactivate(2, at.Add(2*time.Millisecond))
	check(at.Add(3*time.Millisecond), 2, 7, false)

	// The small-endpoint floor: a connection test deleting its only user.
	ep.Spec.DeprovisioningGuard.MaxPercent = 20
	small := []scimv1.ScimUser{{Spec: scimv1.ScimUserSpec{Active: false}}}
	small[0].Annotations = map[string]string{scimv1.AnnotationDeactivatedAt: at.Add(time.Second).Format(time.RFC3339Nano)}
	if s, c := r.evaluateGuard(ep, small, at.Add(2*time.Second)); c.Status == metav1.ConditionTrue {
		t.Fatalf("one revocation of one user held (%+v): the MinRevocations floor should allow it", s)
	}

	ep.Spec.DeprovisioningGuard.MaxPercent = 0
	if _, c := r.evaluateGuard(ep, users, at); c.Status == metav1.ConditionTrue || c.Reason != ReasonGuardOff {
		t.Fatalf("maxPercent 0: condition %+v, want the guard off", c)
	}
}
