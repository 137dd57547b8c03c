package endpoint

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// Reasons of the DeprovisioningHeld condition.
const (
	ReasonWithinLimit       = "WithinLimit"
	ReasonHolding           = "RevocationsHeld"
	ReasonGuardOff          = "GuardDisabled"
	ReasonApproved          = "Approved"
	defaultGuardWindow      = time.Hour
	deletionMemoryPerTarget = 100_000 // bounds the deletions remembered per endpoint
)

// deletions remembers when active users of each endpoint were deleted. A
// deleted user leaves no object to count, so the leader keeps this in memory:
// a restart forgets deletions (not deactivations, which users carry as an
// annotation) of the current window.
type deletions struct {
	mu sync.Mutex
	at map[types.NamespacedName]map[types.UID]time.Time
}

func (d *deletions) record(ep types.NamespacedName, uid types.UID, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at == nil {
		d.at = map[types.NamespacedName]map[types.UID]time.Time{}
	}
	m := d.at[ep]
	if m == nil {
		m = map[types.UID]time.Time{}
		d.at[ep] = m
	}
	if _, seen := m[uid]; !seen && len(m) < deletionMemoryPerTarget {
		m[uid] = at
	}
}

// since counts ep's deletions at or after start and forgets older ones.
func (d *deletions) since(ep types.NamespacedName, start time.Time) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for uid, at := range d.at[ep] {
		if at.Before(start) {
			delete(d.at[ep], uid)
			continue
		}
		n++
	}
	return n
}

// revocationEvents passes the ScimUser events the guard counts: an active
// user turned inactive, and an active user deleted (marked for deletion, or
// gone). It records deletions as it sees them.
func (r *Reconciler) revocationEvents() predicate.Funcs {
	deleted := func(o client.Object) {
		u, ok := o.(*scimv1.ScimUser)
		if ok && u.Spec.Active {
			r.deleted.record(types.NamespacedName{Namespace: u.Namespace, Name: u.Spec.Endpoint}, u.UID, time.Now())
		}
	}
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, okOld := e.ObjectOld.(*scimv1.ScimUser)
			u, okNew := e.ObjectNew.(*scimv1.ScimUser)
			if !okOld || !okNew {
				return false
			}
			if old.DeletionTimestamp == nil && u.DeletionTimestamp != nil {
				deleted(old)
				return old.Spec.Active
			}
			return old.Spec.Active && !u.Spec.Active
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			deleted(e.Object)
			u, ok := e.Object.(*scimv1.ScimUser)
			return ok && u.Spec.Active
		},
	}
}

// guardState is what the guard counted for one endpoint.
type guardState struct {
	active, revoked, allowed int
}

// evaluateGuard counts the endpoint's revocations within its window and
// decides whether further ones are held: once more than the allowed number
// are counted (the revocations up to the limit are never delayed; the one
// that crosses it may be projected before the hold is written). Once held, the window is frozen and
// stays held until a person approves (the annotation) or the limit is raised
// above the count: time passing alone releases nothing.
func (r *Reconciler) evaluateGuard(ep *scimv1.ScimEndpoint, users []scimv1.ScimUser, now time.Time) (guardState, metav1.Condition) {
	g := ep.Spec.DeprovisioningGuard
	st := &ep.Status.Deprovisioning
	cond := metav1.Condition{Type: scimv1.ConditionDeprovisioningHeld, Status: metav1.ConditionFalse, ObservedGeneration: ep.Generation}
	window := g.Window.Duration
	if window <= 0 {
		window = defaultGuardWindow
	}
	approved := ep.Annotations[scimv1.AnnotationApproveDeprovisioning] != ""
	if approved {
		st.ApprovedAt = &metav1.MicroTime{Time: now}
		st.HeldSince = nil
	}
	start := now.Add(-window)
	if st.HeldSince != nil {
		start = st.HeldSince.Add(-window)
	}
	if st.ApprovedAt != nil && st.ApprovedAt.After(start) {
		start = st.ApprovedAt.Time
	}
	var s guardState
	for i := range users {
		u := &users[i]
		if u.DeletionTimestamp != nil {
			continue
		}
		if u.Spec.Active {
			s.active++
			continue
		}
		if at := telemetry.AnnotatedTime(u, scimv1.AnnotationDeactivatedAt); !at.IsZero() && !at.Before(start) {
			s.revoked++
		}
	}
	s.revoked += r.deleted.since(client.ObjectKeyFromObject(ep), start)
	s.allowed = max(int(g.MinRevocations), int(g.MaxPercent)*(s.active+s.revoked)/100)
	st.Revoked, st.Allowed = int32(s.revoked), int32(s.allowed)
	st.WindowStart = nil // recorded while held only: it moves with the clock otherwise

	switch {
	case g.MaxPercent == 0:
		st.HeldSince = nil
		cond.Reason, cond.Message = ReasonGuardOff, "the deprovisioning guard is off (maxPercent 0)"
	case s.revoked > s.allowed:
		if st.HeldSince == nil {
			st.HeldSince = &metav1.MicroTime{Time: now}
		}
		st.WindowStart = &metav1.MicroTime{Time: start}
		cond.Status, cond.Reason = metav1.ConditionTrue, ReasonHolding
		cond.Message = fmt.Sprintf("%d users were revoked since %s, the limit is %d (%d%% of %d, at least %d): "+
			"further deactivations and deletions are not projected until the annotation %s is set or the limit is raised",
			s.revoked, start.UTC().Format(time.RFC3339), s.allowed, g.MaxPercent, s.active+s.revoked, g.MinRevocations,
			scimv1.AnnotationApproveDeprovisioning)
	default:
		st.HeldSince = nil
		cond.Reason = ReasonWithinLimit
		if approved {
			cond.Reason = ReasonApproved
		}
		cond.Message = fmt.Sprintf("%d of %d allowed revocations since %s", s.revoked, s.allowed, start.UTC().Format(time.RFC3339))
	}
	return s, cond
}

// clearApproval removes the approval annotation once the status records it.
func (r *Reconciler) clearApproval(ctx context.Context, ep *scimv1.ScimEndpoint) error {
	if ep.Annotations[scimv1.AnnotationApproveDeprovisioning] == "" {
		return nil
	}
	return r.removeApproval(ctx, client.ObjectKeyFromObject(ep))
}

// removeApproval removes the approval annotation, whatever the cache shows.
func (r *Reconciler) removeApproval(ctx context.Context, key types.NamespacedName) error {
	patch := client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+scimv1.AnnotationApproveDeprovisioning+`":null}}}`))
	return r.Client.Patch(ctx, &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}, patch)
}

// heldChanged reports whether a guard condition changed between two statuses.
func heldChanged(before, after []metav1.Condition) bool {
	return meta.IsStatusConditionTrue(before, scimv1.ConditionDeprovisioningHeld) !=
		meta.IsStatusConditionTrue(after, scimv1.ConditionDeprovisioningHeld)
}
