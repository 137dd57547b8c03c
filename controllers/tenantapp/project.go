package tenantapp

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// Resync intervals: the default when the spec has none, and a floor so a
// tiny value cannot turn full passes into a busy loop.
const (
	defaultResyncInterval = 10 * time.Minute
	minResyncInterval     = time.Second
)

// resyncInterval is how often app gets a full pass.
func resyncInterval(app *scimv1.TenantApp) time.Duration {
	d := app.Spec.ResyncInterval.Duration
	if d <= 0 {
		d = defaultResyncInterval
	}
	return max(d, minResyncInterval)
}

// gather lists the endpoint's users, groups and membership shards from the
// cache through field indexes. Users being deleted are included: they are
// excluded from the rows but their finalizers are released from here.
func (r *Reconciler) gather(ctx context.Context, app *scimv1.TenantApp) (inputs, error) {
	ref := app.EndpointRef()
	ns, ep := client.InNamespace(ref.Namespace), ref.Name
	users, err := cached(ctx, r, &scimv1.ScimUser{}, ns, scimstore.IndexUserEndpoint, ep)
	if err != nil {
		return inputs{}, fmt.Errorf("listing ScimUsers of endpoint %s: %w", ep, err)
	}
	groups, err := cached(ctx, r, &scimv1.ScimGroup{}, ns, scimstore.IndexGroupEndpoint, ep)
	if err != nil {
		return inputs{}, fmt.Errorf("listing ScimGroups of endpoint %s: %w", ep, err)
	}
	shards, err := cached(ctx, r, &scimv1.ScimMembership{}, ns, IndexMembershipEndpoint, ep)
	if err != nil {
		return inputs{}, fmt.Errorf("listing ScimMemberships of endpoint %s: %w", ep, err)
	}
	var endpoint scimv1.ScimEndpoint
	err = r.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ep}, &endpoint)
	if client.IgnoreNotFound(err) != nil {
		return inputs{}, fmt.Errorf("getting ScimEndpoint %s: %w", ref, err)
	}
	found := err == nil
	allowed := false
	if found {
		if allowed, err = r.endpointAllows(ctx, &endpoint, app.Namespace); err != nil {
			return inputs{}, err
		}
	}
	return inputs{endpointFound: found, endpointAllowed: allowed, users: users, groups: groups, shards: shards}, nil
}

// cached returns the cache's own objects of kind T in namespace ns whose
// field index holds value, read from the informers without a copy (a
// cached List would copy each of 10,000 users on every pass).
func cached[T client.Object](ctx context.Context, r *Reconciler, kind T, ns client.InNamespace, field, value string) ([]T, error) {
	return scimstore.CachedByIndex(ctx, r.Informers, kind, field, string(ns), value)
}

// project writes the pass's changes: a full pass when this process does not
// know what the tables hold, the spec changed or the resync interval passed;
// an incremental one otherwise. When the endpoint does not exist or a scope
// name resolves to no group, what the app should hold is unknown (a typo is
// not an instruction to revoke everyone): the pass writes nothing and the
// tables keep what they hold.
func (r *Reconciler) project(ctx context.Context, app *scimv1.TenantApp, st *appState, in inputs, o *outcome) error {
	sc := resolveScope(app, in.groups, st.pins)
	st.pins = sc.pins
	o.scope, o.endpointMissing = &sc, !in.endpointFound
	if o.blocked() {
		return nil
	}
	now := time.Now()
	if st.currentView() == nil || st.needFullSync || st.syncedGeneration != app.Generation ||
		!now.Before(st.lastFullSync.Add(resyncInterval(app))) {
		return r.fullPass(ctx, app, st, in, sc, o)
	}
	return r.incrementalPass(ctx, app, st, in, sc, o)
}

// fullPass makes the tables equal to the desired rows in one transaction,
// repairing any drift, then releases the finalizers no TenantApp needs.
func (r *Reconciler) fullPass(ctx context.Context, app *scimv1.TenantApp, st *appState, in inputs, sc scope, o *outcome) error {
	began := time.Now()
	// have is what the tables hold, to count revocations against: the
	// view, or after a start (no view) the rows themselves.
	have := st.currentView()
	var hasRow func(string) bool
	if needsRowIDs(app) || (have == nil && r.Guard != nil) {
		observed, err := st.client.Observe(ctx)
		if err != nil {
			return dbFailed("observing tenant database", err)
		}
		if have == nil {
			have = observedRows(observed)
		}
		ids := make(map[string]bool, len(observed.Users))
		for _, u := range observed.Users {
			ids[u.ID] = true
		}
		if needsRowIDs(app) {
			hasRow = func(id string) bool { return ids[id] }
		}
	}
	want := desiredRows(app, in, sc, hasRow)
	// Users still without their finalizer keep their old row this pass: the
	// guard counts only what the pass will write.
	pending, err := r.holdUsers(ctx, in, &want, st.currentView())
	if err != nil {
		return err
	}
	if err := r.admitRevocations(ctx, app, have, &want); err != nil {
		return err
	}
	desired := want.state()
	userGens, groupGens := generationsOf(in)
	desired.DeletedUsers = userGens.absent(func(id string) bool { _, ok := want.users[id]; return ok })
	desired.DeletedGroups = groupGens.absent(func(id string) bool { _, ok := want.groups[id]; return ok })
	st.beginWriting(desired.Users)
	res, err := st.client.FullSync(ctx, desired)
	st.endWriting()
	if err != nil {
		return dbFailed("full sync", err)
	}
	st.setView(&want)
	st.lastFullSync, st.syncedGeneration, st.needFullSync = began, app.Generation, false
	o.pendingUsers = pending
	key := client.ObjectKeyFromObject(app)
	changed := res.UsersUpserted + res.UsersDeleted + res.GroupsUpserted + res.GroupsDeleted + res.Members.Added + res.Members.Removed
	r.Metrics.fullSyncDone(key, time.Since(began), changed)
	if changed > 0 {
		r.Metrics.written(key, in.newestWrite())
	}
	log.FromContext(ctx).V(1).Info("full sync", "users", len(want.users), "groups", len(want.groups),
		"memberships", want.memberships(), "result", fmt.Sprintf("%+v", res), "took", time.Since(began))
	o.fullSyncAt = began
	r.passDone(o, st, want)
	return r.sweepHeld(ctx, app.EndpointRef().Namespace, types.NamespacedName{})
}

// incrementalPass writes the difference between the desired rows and what
// the last pass left, in one batch per kind of write.
func (r *Reconciler) incrementalPass(ctx context.Context, app *scimv1.TenantApp, st *appState, in inputs, sc scope, o *outcome) error {
	view := st.currentView()
	want := desiredRows(app, in, sc, func(id string) bool { _, ok := view.users[id]; return ok })
	pending, err := r.holdUsers(ctx, in, &want, view)
	if err != nil {
		return err
	}
	if err := r.admitRevocations(ctx, app, view, &want); err != nil {
		return err
	}
	userGens, groupGens := generationsOf(in)
	if p := diffRows(*view, want, userGens, groupGens); !p.empty() {
		st.beginWriting(p.upsertUsers)
		skipped, err := write(ctx, st.client, p)
		st.endWriting()
		if err != nil {
			return err
		}
		// A skipped membership names a row the database lacks although
		// the last pass wrote it: someone deleted it. A full pass repairs.
		st.needFullSync = skipped > 0
		r.Metrics.written(client.ObjectKeyFromObject(app), in.newestWrite())
	}
	o.pendingUsers = pending
	st.setView(&want)
	r.passDone(o, st, want)
	return nil
}

// write applies a plan: users and groups before the memberships that
// reference them, deletions last. It returns the skipped memberships.
func write(ctx context.Context, c tenantdb.Client, p plan) (int, error) {
	if len(p.upsertUsers) > 0 {
		if err := c.ApplyUsers(ctx, p.upsertUsers); err != nil {
			return 0, dbFailed("upserting users", err)
		}
	}
	if len(p.upsertGroups) > 0 {
		if err := c.ApplyGroups(ctx, p.upsertGroups); err != nil {
			return 0, dbFailed("upserting groups", err)
		}
	}
	skipped := 0
	if len(p.members) > 0 {
		res, err := c.SetMembers(ctx, p.members)
		if err != nil {
			return 0, dbFailed("replacing memberships", err)
		}
		skipped = res.Skipped
	}
	if len(p.deleteUsers) > 0 {
		if err := c.DeleteUsers(ctx, p.deleteUsers); err != nil {
			return 0, dbFailed("deleting users", err)
		}
	}
	if len(p.deleteGroups) > 0 {
		if err := c.DeleteGroups(ctx, p.deleteGroups); err != nil {
			return 0, dbFailed("deleting groups", err)
		}
	}
	return skipped, nil
}

// passDone records a successful pass in its outcome.
func (r *Reconciler) passDone(o *outcome, st *appState, want rows) {
	o.synced = true
	o.users, o.groups, o.members = len(want.users), len(want.groups), want.memberships()
	o.schemaVersion = st.schemaVersion
}
