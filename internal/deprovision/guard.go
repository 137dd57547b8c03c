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
//   - All projections of the endpoint together (every binding, every
//     TenantApp) may revoke up to max(minRevocations, maxPercent% of the
//     baseline) within the window: spreading users over many bindings buys
//     nothing. A user who loses a subject and a tenant row counts twice; the
//     guard errs toward holding. A batch that would cross the limit is not
//     applied: the endpoint is held, and every projection keeps what it grants.
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
	"github.com/scim-operator/scim-operator/internal/scimstore"
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
	// Metrics exports each endpoint's hold (nil: none).
	Metrics *Metrics

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
		if obj.RevocationsHeld() || total(st)+int64(n) > int64(st.Allowed) {
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
// a hold it no longer justifies, maxPercent 0 turns the guard off. An
// approval applies only to a hold in place: exactly the revocations pending
// then are released. The ScimEndpoint controller calls it on every pass. It
// reports whether the approval annotation was consumed (the caller removes
// it, held or not).
func (g *Guard) Evaluate(ctx context.Context, ep types.NamespacedName) (approved bool, err error) {
	unlock := g.lock(ep)
	defer unlock()
	err = g.update(ctx, ep, func(obj *scimv1.ScimEndpoint, now time.Time) error {
		st := &obj.Status.Deprovisioning
		approved = obj.Annotations[scimv1.AnnotationApproveDeprovisioning] != ""
		switch {
		case obj.Spec.DeprovisioningGuard.MaxPercent == 0:
			*st = scimv1.DeprovisioningStatus{ApprovedAt: st.ApprovedAt}
		case approved && st.HeldSince == nil:
			// Nothing is held: the approval releases nothing and is
			// consumed, so an annotation left in place (or re-applied by
			// a GitOps tool) never approves a later hold in advance.
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
			pending := int64(0)
			for _, p := range st.Projections {
				pending += int64(p.Pending)
			}
			if total(st)+pending <= int64(st.Allowed) {
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
// window before now that were active one window ago — active now and not
// re-activated since, or deactivated since (whose revocations this window
// is counting).
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
		if u.ActivatedAt().After(settled) {
			continue // re-activated within the window
		}
		if u.Spec.Active || !u.DeactivatedAt().Before(settled) {
			n++
		}
	}
	obj.Status.Deprovisioning.Baseline = n
	obj.Status.Deprovisioning.Allowed = allowed(obj)
	return nil
}

// update reads the endpoint live, applies change and writes the status,
// retrying on conflicts. It emits an Event when the hold begins or ends.
func (g *Guard) update(ctx context.Context, key types.NamespacedName, change func(*scimv1.ScimEndpoint, time.Time) error) error {
	for attempt := 0; ; attempt++ {
		var obj scimv1.ScimEndpoint
		if err := g.APIReader.Get(ctx, key, &obj); err != nil {
			if apierrors.IsNotFound(err) {
				g.Metrics.forget(key)
				return nil
			}
			return fmt.Errorf("getting ScimEndpoint %s: %w", key, err)
		}
		if !obj.DeletionTimestamp.IsZero() {
			g.Metrics.forget(key)
			return nil
		}
		before := obj.Status.DeepCopy()
		wasHeld := obj.RevocationsHeld()
		if err := change(&obj, g.now()); err != nil {
			return err
		}
		if sameLedger(before, &obj.Status) {
			g.Metrics.observe(&obj)
			return nil
		}
		err := g.Client.Status().Update(ctx, &obj)
		if apierrors.IsConflict(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("writing the deprovisioning guard of ScimEndpoint %s: %w", key, err)
		}
		g.Metrics.observe(&obj)
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

// CachedUsers is the Guard's Users read from c's cache through the
// scim.user.endpoint index (scimstore.RegisterIndexes), without copies: the
// guard only counts and reads them.
func CachedUsers(c client.Reader) func(context.Context, types.NamespacedName) ([]*scimv1.ScimUser, error) {
	return func(ctx context.Context, ep types.NamespacedName) ([]*scimv1.ScimUser, error) {
		var list scimv1.ScimUserList
		if err := c.List(ctx, &list, client.InNamespace(ep.Namespace),
			client.MatchingFields{scimstore.IndexUserEndpoint: ep.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		out := make([]*scimv1.ScimUser, len(list.Items))
		for i := range list.Items {
			out[i] = &list.Items[i]
		}
		return out, nil
	}
}
