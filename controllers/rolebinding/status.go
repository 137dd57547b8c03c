package rolebinding

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Condition and event reasons of the binding kinds.
const (
	ReasonBound            = "Bound"
	ReasonRoleNotAllowed   = "RoleNotAllowed"
	ReasonGroupNotFound    = "GroupNotFound"
	ReasonEndpointNotFound = "EndpointNotFound"
	ReasonGranted          = "Granted"
	ReasonRevoked          = "Revoked"
)

// readyCondition computes the Ready condition from one pass's outcome.
func readyCondition(b binding, o outcome) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionReady, Status: metav1.ConditionFalse, Reason: o.reason,
		ObservedGeneration: b.GetGeneration()}
	ref := b.roleRef()
	switch o.reason {
	case ReasonBound:
		c.Status = metav1.ConditionTrue
		c.Message = fmt.Sprintf("%s %s granted to %d subject(s)", ref.Kind, ref.Name, o.subjects)
	case ReasonRoleNotAllowed:
		c.Message = fmt.Sprintf("%s %s is not on the operator's allow-list of grantable roles (--allowed-roles); nothing is granted", ref.Kind, ref.Name)
	case ReasonGroupNotFound:
		c.Message = "the SCIM group does not exist (yet); nothing is granted"
	case ReasonEndpointNotFound:
		c.Message = fmt.Sprintf("ScimEndpoint %s does not exist; nothing is granted", b.endpoint())
	}
	return c
}

// setStatus writes the outcome into the binding's status.
func setStatus(b binding, o outcome) {
	st := b.status()
	meta.SetStatusCondition(&st.Conditions, readyCondition(b, o))
	st.ObservedGeneration = b.GetGeneration()
	st.GroupID = o.groupID
	st.Subjects = int32(o.subjects)
	st.Namespaces = o.namespaces
}

// recordTransitions emits Events when the grant changed: refused, granted to
// more subjects, or revoked from some.
func (r *Reconciler) recordTransitions(b binding, before *scimv1.BindingStatus, o outcome) {
	prev := meta.FindStatusCondition(before.Conditions, scimv1.ConditionReady)
	if o.reason != ReasonBound {
		if prev == nil || prev.Reason != o.reason {
			r.event(b, corev1.EventTypeWarning, o.reason, "%s", readyCondition(b, o).Message)
		}
		if before.Subjects > 0 {
			r.event(b, corev1.EventTypeNormal, ReasonRevoked, "revoked %s %s from %d subject(s)", b.roleRef().Kind, b.roleRef().Name, before.Subjects)
		}
		return
	}
	switch diff := int32(o.subjects) - before.Subjects; {
	case diff > 0:
		r.event(b, corev1.EventTypeNormal, ReasonGranted, "granted %s %s to %d more subject(s) (%d in all)", b.roleRef().Kind, b.roleRef().Name, diff, o.subjects)
	case diff < 0:
		r.event(b, corev1.EventTypeNormal, ReasonRevoked, "revoked %s %s from %d subject(s) (%d left)", b.roleRef().Kind, b.roleRef().Name, -diff, o.subjects)
	}
}

func (r *Reconciler) event(b binding, kind, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(b.object(), nil, kind, reason, "Reconcile", format, args...)
	}
}
