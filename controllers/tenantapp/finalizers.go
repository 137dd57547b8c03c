package tenantapp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Finalizers and annotations of this controller.
const (
	// FinalizerUsers is set on every ScimUser that has a row in a tenant
	// database and holds its deletion until every TenantApp of its endpoint
	// has deleted the row.
	FinalizerUsers = "scim.scim-operator.io/tenant-apps"
	// FinalizerApp is set on TenantApps so that deleting one releases the
	// users only it was holding.
	FinalizerApp = "scim.scim-operator.io/tenantapp-cleanup"
	// AnnotationSkipCleanup set to "true" is the escape hatch for a database
	// that is gone for good: on a TenantApp it stops the app from holding
	// user deletions; on a ScimUser it releases that user at once. Rows left
	// behind in a database that comes back are removed by its next full pass.
	AnnotationSkipCleanup = "scim.scim-operator.io/skip-tenant-cleanup"
)

// patchConcurrency bounds parallel finalizer patches.
const patchConcurrency = 16

// maxHoldsPerPass bounds the finalizers one pass adds. The first pass over a
// large endpoint has thousands to add (about 200 per second on a small API
// server); rows then appear a chunk per pass, and other changes are applied
// in between instead of waiting for the whole endpoint.
const maxHoldsPerPass = 500

// fieldOwner is the field manager of this controller's writes.
const fieldOwner = client.FieldOwner("scim-operator-tenantapp")

// skipsCleanup reports whether o carries the escape-hatch annotation.
func skipsCleanup(o client.Object) bool { return o.GetAnnotations()[AnnotationSkipCleanup] == "true" }

// holdUsers adds FinalizerUsers to every user that want gives a row, before
// the row is written, at most maxHoldsPerPass per pass. A user left without
// it (beyond the cap, or whose patch conflicted) keeps the row view gives it,
// or none, this pass; it returns how many are left for a later pass.
func (r *Reconciler) holdUsers(ctx context.Context, in inputs, want *rows, view *rows) (int, error) {
	var missing []*scimv1.ScimUser
	for _, u := range in.users {
		if _, ok := want.users[u.Name]; ok && !controllerutil.ContainsFinalizer(u, FinalizerUsers) {
			missing = append(missing, u)
		}
	}
	var failed []string
	if len(missing) > maxHoldsPerPass {
		for _, u := range missing[maxHoldsPerPass:] {
			failed = append(failed, u.Name)
		}
		missing = missing[:maxHoldsPerPass]
	}
	conflicted, err := r.patchUsers(ctx, missing, true)
	failed = append(failed, conflicted...)
	if err != nil || len(failed) == 0 {
		return 0, err
	}
	dropped := map[string]bool{}
	for _, id := range failed {
		if old, ok := view.lookupUser(id); ok {
			want.users[id] = old
			continue
		}
		delete(want.users, id)
		dropped[id] = true
	}
	for g, ids := range want.members {
		kept := ids[:0:0]
		for _, id := range ids {
			if !dropped[id] {
				kept = append(kept, id)
			}
		}
		want.members[g] = kept
	}
	return len(failed), nil
}

// releaseDeleted removes FinalizerUsers from the users being deleted that
// every live TenantApp of the endpoint (in any namespace it allows) is known
// to have unwound, and from those carrying the escape-hatch annotation.
// users are the endpoint's users.
// It returns how many releases conflicted and are left for a later pass.
func (r *Reconciler) releaseDeleted(ctx context.Context, namespace, endpoint string, users []*scimv1.ScimUser) (int, error) {
	var deleting []*scimv1.ScimUser
	for _, u := range users {
		if u.DeletionTimestamp != nil && controllerutil.ContainsFinalizer(u, FinalizerUsers) {
			deleting = append(deleting, u)
		}
	}
	if len(deleting) == 0 {
		return 0, nil
	}
	apps, err := r.holdingApps(ctx, namespace, endpoint, types.NamespacedName{})
	if err != nil {
		return 0, err
	}
	var holders []*appState
	for _, app := range apps {
		if !skipsCleanup(app) {
			holders = append(holders, r.apps.peek(client.ObjectKeyFromObject(app)))
		}
	}
	var release []*scimv1.ScimUser
	for _, u := range deleting {
		if skipsCleanup(u) || allApplied(holders, u.Name) {
			release = append(release, u)
		}
	}
	conflicted, err := r.patchUsers(ctx, release, false)
	return len(conflicted), err
}

// allApplied reports whether every holder is known to hold no row for id. A
// TenantApp this process has not synced yet (nil state) holds everything.
func allApplied(holders []*appState, id string) bool {
	for _, h := range holders {
		if h == nil || !h.applied(id) {
			return false
		}
	}
	return true
}

// sweepHeld releases the held users of a namespace whose endpoint has no live
// TenantApp it allows besides ignore: after a TenantApp is deleted, moved to
// another endpoint or no longer allowed, its users must not stay undeletable.
func (r *Reconciler) sweepHeld(ctx context.Context, namespace string, ignore types.NamespacedName) error {
	var held scimv1.ScimUserList
	if err := r.Client.List(ctx, &held, client.InNamespace(namespace),
		client.MatchingFields{IndexUserHeld: heldAnyEndpoint}, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing held ScimUsers in %s: %w", namespace, err)
	}
	live := map[string]bool{}
	var orphans []*scimv1.ScimUser
	for i := range held.Items {
		u := &held.Items[i]
		has, seen := live[u.Spec.Endpoint]
		if !seen {
			apps, err := r.holdingApps(ctx, namespace, u.Spec.Endpoint, ignore)
			if err != nil {
				return err
			}
			has = len(apps) > 0
			live[u.Spec.Endpoint] = has
		}
		if !has {
			orphans = append(orphans, u)
		}
	}
	_, err := r.patchUsers(ctx, orphans, false)
	return err
}

// holdingApps lists the TenantApps that hold the users of an endpoint: live,
// other than ignore, and in a namespace the endpoint allows. Without the
// endpoint only those of its namespace hold (as before it was deleted).
func (r *Reconciler) holdingApps(ctx context.Context, namespace, endpoint string, ignore types.NamespacedName) ([]*scimv1.TenantApp, error) {
	apps, err := r.appsOf(ctx, namespace, endpoint)
	if err != nil {
		return nil, err
	}
	var ep *scimv1.ScimEndpoint
	var out []*scimv1.TenantApp
	for i := range apps {
		app := &apps[i]
		if app.DeletionTimestamp != nil || client.ObjectKeyFromObject(app) == ignore {
			continue
		}
		if app.Namespace != namespace {
			if ep == nil {
				ep = &scimv1.ScimEndpoint{}
				if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: endpoint}, ep); client.IgnoreNotFound(err) != nil {
					return nil, fmt.Errorf("getting ScimEndpoint %s/%s: %w", namespace, endpoint, err)
				}
			}
			if ep.Name == "" {
				continue // the endpoint is gone: it allows no other namespace
			}
			allowed, err := r.endpointAllows(ctx, ep, app.Namespace)
			if err != nil {
				return nil, err
			}
			if !allowed {
				continue
			}
		}
		out = append(out, app)
	}
	return out, nil
}

// patchAttempts bounds the retries of one finalizer patch after conflicts.
const patchAttempts = 3

// patchUsers adds (hold) or removes FinalizerUsers on users, in parallel.
// Each patch carries the resourceVersion it was computed from, so it never
// clobbers another writer's finalizers; after a conflict it re-reads the user
// live and tries again. It returns the ids still conflicting (or, when
// adding, being deleted meanwhile), for a later pass. Users already gone are
// ignored.
func (r *Reconciler) patchUsers(ctx context.Context, users []*scimv1.ScimUser, hold bool) ([]string, error) {
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed []string
		errs   []error
		sem    = make(chan struct{}, patchConcurrency)
	)
	for _, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			retry, err := r.patchUser(ctx, u, hold)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if retry {
				failed = append(failed, u.Name)
			}
		}()
	}
	wg.Wait()
	return failed, errors.Join(errs...)
}

// patchUser is patchUsers for one user; retry reports a user to try again later.
func (r *Reconciler) patchUser(ctx context.Context, u *scimv1.ScimUser, hold bool) (retry bool, err error) {
	cur := u
	for attempt := 1; ; attempt++ {
		next := cur.DeepCopy()
		changed := controllerutil.RemoveFinalizer(next, FinalizerUsers)
		if hold {
			changed = controllerutil.AddFinalizer(next, FinalizerUsers)
		}
		if !changed {
			return false, nil
		}
		err := r.Client.Patch(ctx, next, client.MergeFromWithOptions(cur, client.MergeFromWithOptimisticLock{}), fieldOwner)
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return false, nil
		case hold && apierrors.IsInvalid(err): // deleted meanwhile: no new finalizers allowed
			return true, nil
		case !apierrors.IsConflict(err):
			return false, fmt.Errorf("patching finalizers of ScimUser %s/%s: %w", u.Namespace, u.Name, err)
		case attempt == patchAttempts:
			return true, nil
		}
		live := &scimv1.ScimUser{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("getting ScimUser %s/%s: %w", u.Namespace, u.Name, err)
		}
		cur = live
	}
}

// NewUserFinalizers names the finalizers the SCIM server creates a new user
// of the endpoint with: FinalizerUsers when the endpoint has a TenantApp, in
// any namespace, that would hold it (live, without the escape hatch). It
// does not ask whether the endpoint allows that TenantApp's namespace (the
// SCIM server does not read Namespaces): a user held needlessly is released
// at its deletion, since releaseDeleted counts only allowed TenantApps. holdUsers would otherwise
// patch every new user before its row is written: during an initial sync,
// one extra API write per user, and those patches queued behind the IdP's
// own writes delayed the rows by seconds. A user out of the TenantApp's
// scope is released at its deletion like any other (allApplied).
func (r *Reconciler) NewUserFinalizers(ctx context.Context, namespace, endpoint string) ([]string, error) {
	apps, err := r.appsOf(ctx, namespace, endpoint)
	if err != nil {
		return nil, err
	}
	for i := range apps {
		if apps[i].DeletionTimestamp == nil && !skipsCleanup(&apps[i]) {
			return []string{FinalizerUsers}, nil
		}
	}
	return nil, nil
}
