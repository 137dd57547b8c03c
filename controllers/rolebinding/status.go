package rolebinding

import (
	"fmt"
	"strings"

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
	// ReasonEndpointNotAllowed: the endpoint is in another namespace and its
	// spec.allowedNamespaces does not allow the binding's; nothing is
	// granted, and what was is revoked at once (the endpoint owner's
	// decision, not held by the deprovisioning guard).
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
	// ReasonGrantOutsideNamespace: a ScimEntitlement outside its endpoint's
	// namespace names a grant that is not exactly its own namespace; it is
	// neither published nor granted.
	ReasonGrantOutsideNamespace = "GrantOutsideNamespace"
	// ReasonAccepted: the Published condition of an entitlement its
	// endpoint accepts.
	ReasonAccepted = "Accepted"
	ReasonGranted  = "Granted"
	ReasonRevoked  = "Revoked"
	// ReasonConflict: a RoleBinding or ClusterRoleBinding with the name the
	// operator would use exists and is not this binding's; it is left alone.
	ReasonConflict = "Conflict"
	// ReasonUnsafeSubjects: active members were not bound because their
	// subject name is reserved (system:), empty, too long or malformed.
	ReasonUnsafeSubjects = "UnsafeSubjectsSkipped"
)

// readyCondition computes the Ready condition from one pass's outcome.
func readyCondition(b binding, o outcome) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionReady, Status: metav1.ConditionFalse, Reason: o.reason,
		ObservedGeneration: b.GetGeneration()}
	switch o.reason {
	case ReasonBound:
		c.Status = metav1.ConditionTrue
		c.Message = fmt.Sprintf("%s granted to %d subject(s)", rolesOf(b), o.subjects)
	case ReasonRoleNotAllowed:
		c.Message = fmt.Sprintf("%s %s is not on the operator's allow-list of grantable roles (--allowed-roles); nothing is granted", o.refused.Kind, o.refused.Name)
	case ReasonGroupNotFound:
		c.Message = "the SCIM group does not exist (yet); nothing is granted"
	case ReasonEndpointNotFound:
		c.Message = fmt.Sprintf("ScimEndpoint %s does not exist; nothing is granted", b.endpoint())
	case ReasonEndpointNotAllowed:
		c.Message = fmt.Sprintf("ScimEndpoint %s does not allow namespace %s in its spec.allowedNamespaces; nothing is granted", b.endpoint(), b.GetNamespace())
	case ReasonGrantOutsideNamespace:
		c.Message = fmt.Sprintf("an entitlement outside its endpoint's namespace grants only in its own namespace (every grant's namespaces must be exactly [%s]); it is not published and nothing is granted", b.GetNamespace())
	case ReasonConflict:
		c.Message = fmt.Sprintf("%s exists and does not belong to this binding (no %s label or %s annotation of it); it is left alone and nothing more is granted",
			o.conflict, LabelBindingUID, AnnotationBinding)
	}
	if o.skipped > 0 {
		c.Message += fmt.Sprintf("; %d active member(s) skipped: their subject name is reserved (system:), empty, longer than %d bytes or has control characters", o.skipped, maxSubjectName)
	}
	if o.held {
		c.Message += "; revocations are held by the endpoint's deprovisioning guard"
	}
	return c
}

// publishedCondition says whether the entitlement's endpoint accepts it in
// its catalog: only when the pass got through every check to projecting it
// (Bound, or a RoleBinding of someone else's in the way). An entitlement
// refused for any reason — its endpoint missing or not allowing its
// namespace, a grant outside it, a role off the allow-list — is not
// published, so no user can be given it.
func publishedCondition(b binding, o outcome) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionPublished, Status: metav1.ConditionTrue, Reason: ReasonAccepted,
		ObservedGeneration: b.GetGeneration(), Message: fmt.Sprintf("published at the /Roles of ScimEndpoint %s", b.endpoint())}
	switch o.reason {
	case ReasonBound, ReasonConflict:
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, o.reason, readyCondition(b, o).Message
	}
	return c
}

// setStatus writes the outcome into the binding's status.
func setStatus(b binding, o outcome) {
	st := b.status()
	meta.SetStatusCondition(&st.Conditions, readyCondition(b, o))
	if _, ok := b.(entitled); ok {
		meta.SetStatusCondition(&st.Conditions, publishedCondition(b, o))
	}
	st.ObservedGeneration = b.GetGeneration()
	st.GroupID = o.groupID
	st.GroupResolvedFrom = o.groupFrom
	if o.groupID == "" {
		st.GroupResolvedFrom = ""
	}
	st.Subjects = int32(o.subjects)
	st.Members = int32(o.members)
	st.SkippedSubjects = int32(o.skipped)
	st.Namespaces = o.namespaces
}

// recordTransitions emits Events when the grant changed: refused, granted to
// more subjects, or revoked from some.
func (r *Reconciler) recordTransitions(b binding, before *scimv1.BindingStatus, o outcome) {
	if o.skipped > 0 && int32(o.skipped) != before.SkippedSubjects {
		r.event(b, corev1.EventTypeWarning, ReasonUnsafeSubjects,
			"%d active member(s) of the group not bound: their subject name would be reserved (system:), empty, longer than %d bytes or malformed", o.skipped, maxSubjectName)
	}
	prev := meta.FindStatusCondition(before.Conditions, scimv1.ConditionReady)
	if o.reason != ReasonBound {
		if prev == nil || prev.Reason != o.reason {
			r.event(b, corev1.EventTypeWarning, o.reason, "%s", readyCondition(b, o).Message)
		}
		if before.Subjects > 0 {
			r.event(b, corev1.EventTypeNormal, ReasonRevoked, "revoked %s from %d subject(s)", rolesOf(b), before.Subjects)
		}
		return
	}
	switch diff := int32(o.subjects) - before.Subjects; {
	case diff > 0:
		r.event(b, corev1.EventTypeNormal, ReasonGranted, "granted %s to %d more subject(s) (%d in all)", rolesOf(b), diff, o.subjects)
	case diff < 0:
		r.event(b, corev1.EventTypeNormal, ReasonRevoked, "revoked %s from %d subject(s) (%d left)", rolesOf(b), -diff, o.subjects)
	}
}

// rolesOf names the roles a binding grants: "ClusterRole view", or
// "ClusterRole edit, ClusterRole view" for an entitlement.
func rolesOf(b binding) string {
	grants := b.grants()
	names := make([]string, len(grants))
	for i, g := range grants {
		names[i] = g.String()
	}
	return strings.Join(names, ", ")
}

func (r *Reconciler) event(b binding, kind, reason, format string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(b.object(), nil, kind, reason, "Reconcile", format, args...)
	}
}
