package deprovision

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// The ledger: the guard's state in status.deprovisioning of a ScimEndpoint,
// and the condition derived from it. Pure functions of the endpoint.

// allowed is the number of revocations one projection may apply per window.
func allowed(obj *scimv1.ScimEndpoint) int32 {
	g := obj.Spec.DeprovisioningGuard
	return max(g.MinRevocations, int32(int64(g.MaxPercent)*int64(obj.Status.Deprovisioning.Baseline)/100))
}

func window(obj *scimv1.ScimEndpoint) time.Duration {
	if w := obj.Spec.DeprovisioningGuard.Window.Duration; w > 0 {
		return w
	}
	return defaultWindow
}

// projectionOf returns the ledger entry of a projection, adding it if needed.
func projectionOf(st *scimv1.DeprovisioningStatus, name string) *scimv1.ProjectionRevocations {
	for i := range st.Projections {
		if st.Projections[i].Name == name {
			return &st.Projections[i]
		}
	}
	st.Projections = append(st.Projections, scimv1.ProjectionRevocations{Name: name})
	return &st.Projections[len(st.Projections)-1]
}

// total is the number of revocations all projections applied in the window.
func total(st *scimv1.DeprovisioningStatus) int64 {
	n := int64(0)
	for _, p := range st.Projections {
		n += int64(p.Revoked)
	}
	return n
}

// pendingOf is the number of revocations held and not yet released.
func pendingOf(st *scimv1.DeprovisioningStatus) int32 {
	pending := int32(0)
	for _, p := range st.Projections {
		if p.Pending > p.Approved {
			pending += p.Pending - p.Approved
		}
	}
	return pending
}

// summarize derives the hold, the totals and the condition from the ledger.
func summarize(obj *scimv1.ScimEndpoint, now time.Time) {
	st := &obj.Status.Deprovisioning
	g := obj.Spec.DeprovisioningGuard
	cond := metav1.Condition{Type: scimv1.ConditionDeprovisioningHeld, Status: metav1.ConditionFalse,
		ObservedGeneration: obj.Generation}
	st.Revoked = int32(min(total(st), int64(1<<31-1)))
	pending := pendingOf(st)
	if g.MaxPercent > 0 {
		st.Allowed = allowed(obj)
	}
	if g.MaxPercent > 0 && pending > 0 && st.HeldSince == nil {
		st.HeldSince = &metav1.MicroTime{Time: now}
	}
	since := ""
	if st.WindowStart != nil {
		since = " since " + st.WindowStart.UTC().Format(time.RFC3339)
	}
	switch {
	case g.MaxPercent == 0:
		cond.Reason, cond.Message = ReasonGuardOff, "the deprovisioning guard is off (maxPercent 0)"
	case st.HeldSince != nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, ReasonHolding
		cond.Message = fmt.Sprintf("%d revocation(s) held: the endpoint's projections would exceed %d revocations%s "+
			"(%d%% of %d users older than the window, at least %d); nothing more is revoked until the annotation %s is set or the limit is raised",
			pending, st.Allowed, since, g.MaxPercent, st.Baseline, g.MinRevocations, scimv1.AnnotationApproveDeprovisioning)
	default:
		cond.Reason = ReasonWithinLimit
		if st.ApprovedAt != nil && st.WindowStart != nil && st.ApprovedAt.Equal(st.WindowStart) {
			cond.Reason = ReasonApproved
		}
		cond.Message = fmt.Sprintf("%d of %d allowed revocations%s", st.Revoked, st.Allowed, since)
	}
	meta.SetStatusCondition(&obj.Status.Conditions, cond)
}

// sameLedger reports whether the guard's part of two statuses is equal.
func sameLedger(a, b *scimv1.ScimEndpointStatus) bool {
	ca := meta.FindStatusCondition(a.Conditions, scimv1.ConditionDeprovisioningHeld)
	cb := meta.FindStatusCondition(b.Conditions, scimv1.ConditionDeprovisioningHeld)
	if (ca == nil) != (cb == nil) || (ca != nil && (ca.Status != cb.Status || ca.Reason != cb.Reason ||
		ca.Message != cb.Message || ca.ObservedGeneration != cb.ObservedGeneration)) {
		return false
	}
	da, db := a.Deprovisioning, b.Deprovisioning
	if da.Revoked != db.Revoked || da.Allowed != db.Allowed || da.Baseline != db.Baseline ||
		!microEqual(da.WindowStart, db.WindowStart) || !microEqual(da.HeldSince, db.HeldSince) ||
		!microEqual(da.ApprovedAt, db.ApprovedAt) || len(da.Projections) != len(db.Projections) {
		return false
	}
	for i := range da.Projections {
		if da.Projections[i] != db.Projections[i] {
			return false
		}
	}
	return true
}

func microEqual(a, b *metav1.MicroTime) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}
