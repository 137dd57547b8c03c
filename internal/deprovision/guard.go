// Package deprovision is the mass-deprovisioning guard: one policy that every
// projection asks before it revokes anything (a RoleBinding subject removed,
// a tenant row deactivated or deleted), whatever the cause — a deactivation,
// a deletion, a member removal, a group deleted or renamed.
//
// The guard's state is a ledger in the ScimEndpoint's status
// (status.deprovisioning), written before the revocation is applied, so a
// burst cannot pass before the hold and a new leader continues where the old
// one stopped. Its rules:
//
//   - A window opens at the first revocation after the previous one ended and
//     lasts spec.deprovisioningGuard.window. Its baseline is frozen when it
//     opens: the endpoint's active users older than one window, so users
//     created just before a mass revocation cannot raise the limit.
//   - Each projection (one binding, one TenantApp) may revoke up to
//     max(minRevocations, maxPercent% of the baseline) within the window. A
//     batch that would cross it is not applied: the endpoint is held, and
//     every projection of the endpoint keeps what it grants.
//   - A hold ends only when a person approves (the annotation) or raises the
//     limit; time alone releases nothing. An approval releases exactly what
//     was pending and opens a new window.
package deprovision

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// Reasons of the DeprovisioningHeld condition and the guard's Events.
const (
	ReasonWithinLimit = "WithinLimit"
	ReasonHolding     = "RevocationsHeld"
	ReasonGuardOff    = "GuardDisabled"
	ReasonApproved    = "Approved"
	ReasonLimitRaised = "LimitRaised"
	defaultWindow     = time.Hour
	maxRetries        = 8
)

// Guard decides, before a projection revokes, whether it may. It runs in the
// leader, which is the only process that projects; a mutex per endpoint
// orders the projections of one endpoint, and the status write's
// resourceVersion orders the guard against the endpoint's other writers.
type Guard struct {
	// Client writes the endpoint's status.
	Client client.Client
	// APIReader reads the endpoint live: the ledger must never be read stale.
	APIReader client.Reader
	// Users counts the baseline; it reads the endpoint's users from the cache.
	Users func(ctx context.Context, ep types.NamespacedName) ([]*scimv1.ScimUser, error)
	// Recorder emits an Event when a hold begins or ends (nil: none).
	Recorder events.EventRecorder
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu    sync.Mutex
	locks map[types.NamespacedName]*sync.Mutex
}

// Admit asks whether projection may revoke n users of endpoint ep now. It
// records the answer in the endpoint's status before returning: true means
// the revocations are counted and may be applied; false means they are held
// and the caller must keep what it grants. A missing endpoint admits
// everything (nothing is granted through it any more).
func (g *Guard) Admit(ctx context.Context, ep types.NamespacedName, projection string, n int) (bool, error) {
	if n <= 0 {
		return true, nil
	}
	unlock := g.lock(ep)
	defer unlock()
	admitted, asked := false, n
	err := g.update(ctx, ep, func(obj *scimv1.ScimEndpoint, now time.Time) error {
		// update retries this on a conflict, against a fresh read: start
		// from the full request every time.
		admitted, n = false, asked
		if obj.Spec.DeprovisioningGuard.MaxPercent == 0 {
			admitted = true
			return nil
		}
		st := &obj.Status.Deprovisioning
		if !obj.RevocationsHeld() {
			if err := g.openWindow(ctx, obj, now); err != nil {
				return err
			}
		}
		p := projectionOf(st, projection)
		if p.Approved > 0 {
			used := min(p.Approved, int32(n))
			p.Approved -= used
			n -= int(used)
			if p.Pending = max(0, p.Pending-used); n == 0 {
				admitted = true
				summarize(obj, now)
				return nil
			}
		}
		if obj.RevocationsHeld() || p.Revoked+int32(n) > st.Allowed {
			p.Pending = int32(n)
			summarize(obj, now)
			return nil
		}
		p.Revoked += int32(n)
		p.Pending = 0
		admitted = true
		summarize(obj, now)
		return nil
	})
	return admitted, err
}

// Evaluate brings the guard's state up to date with the endpoint's spec and
// annotations: an approval releases what is pending, a raised limit releases
// a hold it no longer justifies, maxPercent 0 turns the guard off. The
// ScimEndpoint controller calls it on every pass. It reports whether the
// approval annotation was consumed (the caller removes it).
func (g *Guard) Evaluate(ctx context.Context, ep types.NamespacedName) (approved bool, err error) {
	unlock := g.lock(ep)
	defer unlock()
	err = g.update(ctx, ep, func(obj *scimv1.ScimEndpoint, now time.Time) error {
		st := &obj.Status.Deprovisioning
		approved = obj.Annotations[scimv1.AnnotationApproveDeprovisioning] != ""
		switch {
		case obj.Spec.DeprovisioningGuard.MaxPercent == 0:
			*st = scimv1.DeprovisioningStatus{ApprovedAt: st.ApprovedAt}
		case approved:
			st.ApprovedAt = &metav1.MicroTime{Time: now}
			st.WindowStart = &metav1.MicroTime{Time: now}
			var kept []scimv1.ProjectionRevocations
			for _, p := range st.Projections {
				if p.Pending > 0 {
					kept = append(kept, scimv1.ProjectionRevocations{Name: p.Name, Approved: p.Pending, Pending: p.Pending})
				}
			}
			st.Projections = kept
			st.HeldSince = nil
			if err := g.setBaseline(ctx, obj, now); err != nil {
				return err
			}
		case st.HeldSince != nil:
			// Held: the limit may have been raised above what is pending.
			st.Allowed = allowed(obj)
			over := false
			for _, p := range st.Projections {
				over = over || p.Revoked+p.Pending > st.Allowed
			}
			if !over {
				for i := range st.Projections {
					st.Projections[i].Approved += st.Projections[i].Pending
				}
				st.HeldSince = nil
			}
		}
		summarize(obj, now)
		return nil
	})
	return approved, err
}

// openWindow starts a new window when none is open or the open one ended.
func (g *Guard) openWindow(ctx context.Context, obj *scimv1.ScimEndpoint, now time.Time) error {
	st := &obj.Status.Deprovisioning
	if st.WindowStart != nil && now.Before(st.WindowStart.Add(window(obj))) {
		st.Allowed = allowed(obj)
		return nil
	}
	st.WindowStart = &metav1.MicroTime{Time: now}
	st.Projections = nil
	return g.setBaseline(ctx, obj, now)
}

// setBaseline freezes the window's baseline: the users created at least one
// window before now that were active one window ago — active now, or
// deactivated since (whose revocations this window is counting).
func (g *Guard) setBaseline(ctx context.Context, obj *scimv1.ScimEndpoint, now time.Time) error {
	users, err := g.Users(ctx, client.ObjectKeyFromObject(obj))
	if err != nil {
		return fmt.Errorf("counting the users of ScimEndpoint %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	settled := now.Add(-window(obj))
	n := int32(0)
	for _, u := range users {
		if !u.DeletionTimestamp.IsZero() || u.CreationTimestamp.After(settled) {
			continue
		}
		if u.Spec.Active || !telemetry.AnnotatedTime(u, scimv1.AnnotationDeactivatedAt).Before(settled) {
			n++
		}
	}
	obj.Status.Deprovisioning.Baseline = n
	obj.Status.Deprovisioning.Allowed = allowed(obj)
	return nil
}

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

// summarize derives the hold, the totals and the condition from the ledger.
func summarize(obj *scimv1.ScimEndpoint, now time.Time) {
	st := &obj.Status.Deprovisioning
	g := obj.Spec.DeprovisioningGuard
	cond := metav1.Condition{Type: scimv1.ConditionDeprovisioningHeld, Status: metav1.ConditionFalse,
		ObservedGeneration: obj.Generation}
	st.Revoked = 0
	pending := int32(0)
	for _, p := range st.Projections {
		st.Revoked = max(st.Revoked, p.Revoked)
		if p.Pending > p.Approved {
			pending += p.Pending - p.Approved
		}
	}
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
		cond.Message = fmt.Sprintf("%d revocation(s) held: a projection would exceed %d revocations%s "+
			"(%d%% of %d users older than the window, at least %d); nothing more is revoked until the annotation %s is set or the limit is raised",
			pending, st.Allowed, since, g.MaxPercent, st.Baseline, g.MinRevocations, scimv1.AnnotationApproveDeprovisioning)
	default:
		cond.Reason = ReasonWithinLimit
		if st.ApprovedAt != nil && st.WindowStart != nil && st.ApprovedAt.Equal(st.WindowStart) {
			cond.Reason = ReasonApproved
		}
		cond.Message = fmt.Sprintf("at most %d of %d allowed revocations per projection%s", st.Revoked, st.Allowed, since)
	}
	meta.SetStatusCondition(&obj.Status.Conditions, cond)
}

// update reads the endpoint live, applies change and writes the status,
// retrying on conflicts. It emits an Event when the hold begins or ends.
func (g *Guard) update(ctx context.Context, key types.NamespacedName, change func(*scimv1.ScimEndpoint, time.Time) error) error {
	for attempt := 0; ; attempt++ {
		var obj scimv1.ScimEndpoint
		if err := g.APIReader.Get(ctx, key, &obj); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("getting ScimEndpoint %s: %w", key, err)
		}
		if !obj.DeletionTimestamp.IsZero() {
			return nil
		}
		before := obj.Status.DeepCopy()
		wasHeld := obj.RevocationsHeld()
		if err := change(&obj, g.now()); err != nil {
			return err
		}
		if sameLedger(before, &obj.Status) {
			return nil
		}
		err := g.Client.Status().Update(ctx, &obj)
		if apierrors.IsConflict(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("writing the deprovisioning guard of ScimEndpoint %s: %w", key, err)
		}
		if held := obj.RevocationsHeld(); held != wasHeld && g.Recorder != nil {
			c := meta.FindStatusCondition(obj.Status.Conditions, scimv1.ConditionDeprovisioningHeld)
			kind := corev1.EventTypeNormal
			if held {
				kind = corev1.EventTypeWarning
			}
			g.Recorder.Eventf(&obj, nil, kind, c.Reason, "DeprovisioningGuard", "%s", c.Message)
		}
		return nil
	}
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

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// lock serialises the guard's decisions for one endpoint.
func (g *Guard) lock(ep types.NamespacedName) func() {
	g.mu.Lock()
	if g.locks == nil {
		g.locks = map[types.NamespacedName]*sync.Mutex{}
	}
	l := g.locks[ep]
	if l == nil {
		l = &sync.Mutex{}
		g.locks[ep] = l
	}
	g.mu.Unlock()
	l.Lock()
	return l.Unlock
}
