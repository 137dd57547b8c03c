package driver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// runSync runs the initial sync (and, after the runs at the first
// concurrency, deprovisioning) SyncRuns times per concurrency level.
func (b *bench) runSync(ctx context.Context) {
	sc := b.sc[scSync]
	if err := b.startPostgres(ctx); err != nil {
		sc.fail(err)
		return
	}
	for run := range b.cfg.SyncRuns {
		for _, clients := range b.sizes.Clients {
			if ctx.Err() != nil {
				return
			}
			b.say("initial sync, run %d/%d, %d clients", run+1, b.cfg.SyncRuns, clients)
			if err := b.syncRun(ctx, run, clients); err != nil {
				sc.fail(fmt.Errorf("run %d, %d clients: %w", run+1, clients, err))
			}
			b.save()
		}
	}
	if b.countChecks > 0 && b.countMismatches == 0 {
		sc.note("In every run the operator's scim_requests_total counted exactly the requests the driver sent.")
	}
}

func (b *bench) syncRun(ctx context.Context, run, clients int) error {
	dir, cleanup, err := b.tempDir("sync")
	if err != nil {
		return err
	}
	defer cleanup()
	env, stop, err := b.newSyncEnv(ctx, dir, db(run, clients))
	if err != nil {
		return err
	}
	defer stop()
	sc := b.sc[scSync]
	if err := b.profiled(ctx, env.op, sc, func() error { return b.initialSync(ctx, env, clients) }); err != nil {
		return err
	}
	if clients != b.sizes.Clients[0] {
		return nil
	}
	b.say("full sync into an empty database, run %d/%d", run+1, b.cfg.SyncRuns)
	if err := b.profiled(ctx, env.op, sc, func() error { return b.fullSync(ctx, env, db(run, clients)+"_full") }); err != nil {
		sc.fail(fmt.Errorf("full sync, run %d: %w", run+1, err))
	}
	b.say("deprovisioning, run %d/%d", run+1, b.cfg.SyncRuns)
	dp := b.sc[scDeprov]
	if err := b.profiled(ctx, env.op, dp, func() error { return b.deprovision(ctx, env) }); err != nil {
		dp.fail(fmt.Errorf("run %d: %w", run+1, err))
	}
	b.say("entitlement revocations, run %d/%d", run+1, b.cfg.SyncRuns)
	if err := b.revokeEntitlements(ctx, env); err != nil {
		dp.fail(fmt.Errorf("entitlements, run %d: %w", run+1, err))
	}
	return nil
}

// db names the tenant database of a sync run.
func db(run, clients int) string { return fmt.Sprintf("sync_r%d_c%d", run, clients) }

// fullSync measures issue 5's full sync: once the initial sync is complete,
// a second TenantApp of the endpoint on an empty database, timed from its
// creation until its tables hold every user, group and membership (polled
// every 20 ms). The pass connects, migrates and writes in one transaction.
func (b *bench) fullSync(ctx context.Context, env *syncEnv, name string) error {
	if err := b.pg.CreateDatabase(ctx, name); err != nil {
		return err
	}
	tdb, err := openTenantDB(ctx, b.pg.DSN(name))
	if err != nil {
		return err
	}
	defer tdb.close()
	p := env.plan
	want := rowCounts{len(p.userNames), len(p.groups), b.sizes.Memberships()}
	began := time.Now()
	if err := env.cl.CreateTenantApp(ctx, env.ep, "full", b.pg.DSN(name)); err != nil {
		return err
	}
	var have rowCounts
	if err := env.rb.every(ctx, 5*time.Minute, 20*time.Millisecond, func() bool { have = tdb.counts(ctx); return have == want }); err != nil {
		return fmt.Errorf("after 5 minutes the new tables hold %+v of %+v: %w", have, want, err)
	}
	took := time.Since(began)
	rows := want.ActiveUsers + want.Groups + want.Members
	sc := b.sc[scSync]
	sc.record("sync.fullsync.rows_per_s", fmt.Sprintf("full sync of a new TenantApp into an empty database (%d rows)", rows), "rows/s", float64(rows)/took.Seconds())
	sc.record("sync.fullsync.s", "full sync: TenantApp created to every row written", "s", took.Seconds())
	b.say("  full sync of %d rows in %.2f s", rows, took.Seconds())
	return nil
}

// initialSync pushes the plan through SCIM and waits for both projections.
func (b *bench) initialSync(ctx context.Context, env *syncEnv, clients int) error {
	sc := b.sc[scSync]
	s, p := env.scim, env.plan
	want, subjects := p.wantSubjects()
	cpu0, err := env.op.Mem(ctx, false)
	if err != nil {
		return err
	}
	served0 := b.served(ctx, env)
	s.Requests.Store(0)
	s.Retries.Store(0)
	began := time.Now()
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	var pushed atomic.Bool
	done := b.watchSyncCompletion(wctx, env, want, subjects, &pushed)

	env.ids = make([]string, len(p.userNames))
	err = forEach(ctx, len(p.userNames), clients, func(ctx context.Context, u int) error {
		var list struct{ TotalResults int }
		r, err := s.Expect(ctx, http.MethodGet, oktaLookup(p.userNames[u]), nil, http.StatusOK)
		if err == nil {
			err = r.decode(&list)
		}
		if err == nil && list.TotalResults != 0 {
			err = fmt.Errorf("lookup of new user %s found %d", p.userNames[u], list.TotalResults)
		}
		if err == nil {
			env.ids[u], err = created(s.Expect(ctx, http.MethodPost, "/Users", oktaUser(p.userNames[u], fmt.Sprintf("00uokta%06d", u)), http.StatusCreated))
		}
		return err
	})
	usersDone := time.Now()
	gids := make([]string, len(p.groups))
	if err == nil {
		err = forEach(ctx, len(p.groups), clients, func(ctx context.Context, g int) error {
			var err error
			gids[g], err = created(s.Expect(ctx, http.MethodPost, "/Groups", oktaGroup(p.groups[g]), http.StatusCreated))
			return err
		})
	}
	groupsDone := time.Now()
	if err == nil {
		err = forEach(ctx, len(p.groups), clients, func(ctx context.Context, g int) error {
			for start := 0; start < len(p.members[g]); start += b.sizes.MemberBatch {
				batch := p.members[g][start:min(start+b.sizes.MemberBatch, len(p.members[g]))]
				ids := make([]string, len(batch))
				for i, u := range batch {
					ids[i] = env.ids[u]
				}
				if _, err := s.Expect(ctx, http.MethodPatch, "/Groups/"+gids[g], oktaMemberAdd(ids), http.StatusOK, http.StatusNoContent); err != nil {
					return err
				}
			}
			return nil
		})
	}
	lastResponse := time.Now()
	pushed.Store(true)
	if err != nil {
		return fmt.Errorf("SCIM push: %w", err)
	}
	res := <-done
	if res.err != nil {
		return res.err
	}
	cpu1, err := env.op.Mem(ctx, false)
	if err != nil {
		return err
	}
	key := func(k string) string { return fmt.Sprintf("sync.c%d.%s", clients, k) }
	name := func(n string) string { return fmt.Sprintf("%d clients: %s", clients, n) }
	end := res.rbac
	if res.tenant.After(end) {
		end = res.tenant
	}
	push := lastResponse.Sub(began).Seconds()
	sc.record(key("wall_s"), name("wall time, first request to everything projected"), "s", end.Sub(began).Seconds())
	sc.record(key("push_s"), name("SCIM push, first request to last response"), "s", push)
	sc.record(key("req_per_s"), name("SCIM requests per second during the push"), "req/s", float64(s.Requests.Load())/push)
	sc.record(key("users_per_s"), name("users created per second (lookup + POST)"), "users/s", float64(len(p.userNames))/usersDone.Sub(began).Seconds())
	sc.record(key("groups_phase_s"), name("groups created (POST /Groups)"), "s", groupsDone.Sub(usersDone).Seconds())
	sc.record(key("members_phase_s"), name("memberships pushed (member-add PATCHes)"), "s", lastResponse.Sub(groupsDone).Seconds())
	sc.record(key("lag_s"), name("projection lag after the last SCIM response"), "s", max(0, end.Sub(lastResponse).Seconds()))
	sc.record(key("rbac_lag_s"), name("RoleBindings complete, after the last response"), "s", max(0, res.rbac.Sub(lastResponse).Seconds()))
	sc.record(key("tenant_lag_s"), name("tenant rows complete, after the last response"), "s", max(0, res.tenant.Sub(lastResponse).Seconds()))
	sc.record(key("cpu_s"), name("operator CPU time"), "s", cpu1.CPUSeconds-cpu0.CPUSeconds)
	sc.record(key("peak_rss_mib"), name("operator peak RSS"), "MiB", float64(cpu1.PeakRSSBytes)/(1<<20))
	sc.RunSeconds = append(sc.RunSeconds, end.Sub(began).Seconds())
	b.say("  %d users pushed in %.1f s, memberships in %.1f s; projected %.2f s after the last response",
		len(p.userNames), usersDone.Sub(began).Seconds(), lastResponse.Sub(groupsDone).Seconds(), end.Sub(lastResponse).Seconds())
	if n := s.Retries.Load(); n > 0 {
		sc.note("%d clients: %d requests were answered 429/503 and retried after Retry-After (counted in the requests)", clients, n)
	}
	return b.checkSync(ctx, env, sc, clients, served0)
}

// created returns the id of a created resource.
func created(r Reply, err error) (string, error) {
	if err != nil {
		return "", err
	}
	var res struct{ ID string }
	if err := r.decode(&res); err != nil || res.ID == "" {
		return "", errors.Join(err, fmt.Errorf("create answered without an id: %.200s", r.Body))
	}
	return res.ID, nil
}

// syncDone is when each projection was first complete.
type syncDone struct {
	rbac, tenant time.Time
	err          error
}

// watchSyncCompletion checks both projections every 200 ms while the push
// runs and every 50 ms once pushed is set (so the lag is known to 0.05 s;
// checking on each of the many RoleBinding events would load the machine),
// and reports when each was first complete. It gives up ten minutes after
// the push started.
func (b *bench) watchSyncCompletion(ctx context.Context, env *syncEnv, want map[string]map[string]bool, subjects int,
	pushed *atomic.Bool) <-chan syncDone {
	out := make(chan syncDone, 1)
	p := env.plan
	go func() {
		var (
			res     syncDone
			last    rowCounts
			checked time.Time
		)
		check := func() bool {
			now := time.Now()
			if !pushed.Load() && now.Sub(checked) < 200*time.Millisecond {
				return false
			}
			checked = now
			if res.rbac.IsZero() {
				if m, extra := env.rb.match(want); m == subjects && extra == 0 {
					res.rbac = now
				}
			}
			if res.tenant.IsZero() {
				last = env.db.counts(ctx)
				if last == (rowCounts{len(p.userNames), len(p.groups), b.sizes.Memberships()}) {
					res.tenant = now
				}
			}
			return !res.rbac.IsZero() && !res.tenant.IsZero()
		}
		if err := env.rb.every(ctx, 10*time.Minute, 50*time.Millisecond, check); err != nil {
			m, extra := env.rb.match(want)
			res.err = fmt.Errorf("projection incomplete after 10 minutes: RoleBindings hold %d of %d subjects (%d unexpected); tenant rows %+v", m, subjects, extra, last)
		}
		out <- res
	}()
	return out
}

// checkSync verifies, untimed, that the tenant rows are exactly the created
// users and that the server counted the requests the driver sent.
func (b *bench) checkSync(ctx context.Context, env *syncEnv, sc *Scenario, clients int, served0 float64) error {
	rows, err := env.db.userIDs(ctx)
	if err != nil {
		return err
	}
	if len(rows) != len(env.ids) {
		return fmt.Errorf("%d active tenant rows, want %d", len(rows), len(env.ids))
	}
	for _, id := range env.ids {
		if !rows[id] {
			return fmt.Errorf("user %s has no active tenant row", id)
		}
	}
	served, sent := b.served(ctx, env)-served0, float64(env.scim.Requests.Load())
	b.countChecks++
	if served != sent {
		b.countMismatches++
		sc.note("%d clients: the operator's scim_requests_total counted %.0f requests, the driver sent %.0f.", clients, served, sent)
	}
	return nil
}

// served is the operator's scim_requests_total of the endpoint, or -1.
func (b *bench) served(ctx context.Context, env *syncEnv) float64 {
	fams, err := env.op.Metrics(ctx)
	if err != nil {
		return -1
	}
	total := 0.0
	for _, m := range fams["scim_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "endpoint" && l.GetValue() == env.ep.Namespace+"/"+env.ep.Name {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}
