package endpoint_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/deprovision"
)

// The ScimEndpoint reconciler's share of the deprovisioning guard (see
// docs/troubleshooting.md): on every pass it applies the approval annotation
// and limit changes to status.deprovisioning, and removes the annotation.
// The projections' side (Admit) is called here directly, as a binding would.

const projection = "ScimRoleBinding/test/viewers"

// heldEndpoint creates an endpoint allowing 2 revocations a window (its
// baseline is 0: it has no users) and has a projection ask for 5, which the
// guard holds.
func heldEndpoint(t *testing.T, ns, name string) types.NamespacedName {
	t.Helper()
	key := guardedEndpoint(t, ns, name)
	if admitted := admit(t, key, 5); admitted {
		t.Fatal("5 revocations of 2 allowed were admitted")
	}
	waitEndpoint(t, key, "held", guardIs(metav1.ConditionTrue, deprovision.ReasonHolding))
	waitEvent(t, key, corev1.EventTypeWarning, deprovision.ReasonHolding)
	return key
}

// guardedEndpoint creates a serving endpoint allowing 2 revocations a window
// and waits for the reconciler's first guard pass.
func guardedEndpoint(t *testing.T, ns, name string) types.NamespacedName {
	t.Helper()
	tokenSecret(t, ns, name+"-token", newToken(t), true)
	key := newEndpoint(t, ns, name, []string{name + "-token"}, func(ep *scimv1.ScimEndpoint) {
		ep.Spec.DeprovisioningGuard = scimv1.DeprovisioningGuard{MaxPercent: 20, MinRevocations: 2,
			Window: metav1.Duration{Duration: time.Hour}}
	})
	waitEndpoint(t, key, "the guard within its limit", guardIs(metav1.ConditionFalse, deprovision.ReasonWithinLimit))
	return key
}

func admit(t *testing.T, key types.NamespacedName, n int) bool {
	t.Helper()
	admitted, err := guard.Admit(context.Background(), key, projection, n)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	return admitted
}

func guardIs(status metav1.ConditionStatus, reason string) func(*scimv1.ScimEndpoint) (bool, string) {
	return func(ep *scimv1.ScimEndpoint) (bool, string) {
		c := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionDeprovisioningHeld)
		held := (ep.Status.Deprovisioning.HeldSince != nil) == (status == metav1.ConditionTrue)
		return c != nil && c.Status == status && c.Reason == reason && held, guardState(ep)
	}
}

func guardState(ep *scimv1.ScimEndpoint) string {
	c := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionDeprovisioningHeld)
	cond := "no DeprovisioningHeld condition"
	if c != nil {
		cond = fmt.Sprintf("DeprovisioningHeld=%s/%s", c.Status, c.Reason)
	}
	return fmt.Sprintf("%s annotations=%v deprovisioning=%+v", cond, ep.Annotations, ep.Status.Deprovisioning)
}

func approve(t *testing.T, key types.NamespacedName) {
	t.Helper()
	patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) {
		ep.Annotations = map[string]string{scimv1.AnnotationApproveDeprovisioning: "alice"}
	})
}

// consumed waits until the approval annotation is removed.
func consumed(ep *scimv1.ScimEndpoint) (bool, string) {
	_, set := ep.Annotations[scimv1.AnnotationApproveDeprovisioning]
	return !set, guardState(ep)
}

// TestApprovalReleasesTheHold: the annotation releases exactly what is
// pending, opens a new window, and is removed.
func TestApprovalReleasesTheHold(t *testing.T) {
	key := heldEndpoint(t, newNamespace(t), "approved")
	approve(t, key)
	ep := waitEndpoint(t, key, "approval applied and consumed", func(ep *scimv1.ScimEndpoint) (bool, string) {
		ok, state := guardIs(metav1.ConditionFalse, deprovision.ReasonApproved)(ep)
		done, _ := consumed(ep)
		return ok && done, state
	})
	st := ep.Status.Deprovisioning
	if st.ApprovedAt == nil || st.WindowStart == nil || !st.ApprovedAt.Equal(st.WindowStart) {
		t.Errorf("an approval opens a new window at approvedAt: %+v", st)
	}
	if diff := cmp.Diff([]scimv1.ProjectionRevocations{{Name: projection, Pending: 5, Approved: 5}}, st.Projections); diff != "" {
		t.Errorf("released revocations (-want +got):\n%s", diff)
	}
	waitEvent(t, key, corev1.EventTypeNormal, deprovision.ReasonApproved)

	// What was released is admitted once and counts nothing against the
	// new window, which allows 2 more.
	if !admit(t, key, 5) {
		t.Error("the 5 approved revocations were not admitted")
	}
	if !admit(t, key, 2) {
		t.Error("the 2 revocations the new window allows were not admitted")
	}
	if admit(t, key, 1) {
		t.Error("a revocation past the new window's limit was admitted")
	}
}

// TestApprovalWithoutHold: an approval set while nothing is held releases
// nothing and is removed, so it approves no later hold in advance.
func TestApprovalWithoutHold(t *testing.T) {
	key := guardedEndpoint(t, newNamespace(t), "early")
	approve(t, key)
	ep := waitEndpoint(t, key, "approval consumed", consumed)
	if ep.Status.Deprovisioning.ApprovedAt != nil {
		t.Errorf("an approval without a hold was recorded: %s", guardState(ep))
	}
	if admit(t, key, 5) {
		t.Error("5 revocations of 2 allowed were admitted after an early approval")
	}
}

// TestRaisedLimit: raising minRevocations releases a hold once the limit
// covers what is pending, and not before.
func TestRaisedLimit(t *testing.T) {
	key := heldEndpoint(t, newNamespace(t), "raised")
	for _, tc := range []struct {
		reason string
		min    int32
		held   bool
	}{
		{"a limit under what is pending keeps the hold", 4, true},
		{"a limit covering what is pending releases it", 5, false},
	} {
		patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) { ep.Spec.DeprovisioningGuard.MinRevocations = tc.min })
		want := guardIs(metav1.ConditionFalse, deprovision.ReasonWithinLimit)
		if tc.held {
			want = guardIs(metav1.ConditionTrue, deprovision.ReasonHolding)
		}
		ep := waitEndpoint(t, key, tc.reason, func(ep *scimv1.ScimEndpoint) (bool, string) {
			ok, state := want(ep)
			return ok && ep.Status.Deprovisioning.Allowed == tc.min, state
		})
		approved := int32(0)
		if !tc.held {
			approved = 5
		}
		if diff := cmp.Diff([]scimv1.ProjectionRevocations{{Name: projection, Pending: 5, Approved: approved}},
			ep.Status.Deprovisioning.Projections); diff != "" {
			t.Errorf("%s: projections (-want +got):\n%s", tc.reason, diff)
		}
	}
	waitEvent(t, key, corev1.EventTypeNormal, deprovision.ReasonWithinLimit)
	if !admit(t, key, 5) {
		t.Error("the 5 released revocations were not admitted")
	}
}

// TestGuardOff: maxPercent 0 turns the guard off, releasing a hold and
// clearing the ledger.
func TestGuardOff(t *testing.T) {
	key := heldEndpoint(t, newNamespace(t), "off")
	patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) { ep.Spec.DeprovisioningGuard.MaxPercent = 0 })
	ep := waitEndpoint(t, key, "the guard off", guardIs(metav1.ConditionFalse, deprovision.ReasonGuardOff))
	if diff := cmp.Diff(scimv1.DeprovisioningStatus{}, ep.Status.Deprovisioning); diff != "" {
		t.Errorf("ledger of a guard turned off (-want +got):\n%s", diff)
	}
	waitEvent(t, key, corev1.EventTypeNormal, deprovision.ReasonGuardOff)
	if !admit(t, key, 100) {
		t.Error("a guard turned off held revocations")
	}
}
