package driver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/operator"
)

// Settling: the operator counts as quiet after quietWindows consecutive
// one-second windows under quietCPU seconds of CPU, or after settleLimit.
const (
	quietCPU     = 0.05
	quietWindows = 2
	settleLimit  = time.Minute
)

// restart starts the operator on the big endpoint's n users and records
// its start-up times and, once it is quiet, its memory.
func (b *bench) restart(ctx context.Context, env *bigEnv, n int) error {
	sc := b.sc[scMemory]
	ready, err := b.startReady(ctx, env, fmt.Sprintf("u%d", n))
	if err != nil {
		return err
	}
	op := env.op
	at := func(k string) string { return fmt.Sprintf("restart.u%d.%s", n, k) }
	sc.record(at("ready_s"), fmt.Sprintf("%s users: start to ready (cache synced, serving)", thousands(n)), "s", ready.Seconds())
	s := NewSCIM(op.SCIMAddr, env.big)
	if n > 0 {
		if _, err := s.Expect(ctx, http.MethodGet, "/Users/"+env.ids[n-1], nil, http.StatusOK); err != nil {
			return fmt.Errorf("first read after start: %w", err)
		}
		sc.record(at("served_s"), fmt.Sprintf("%s users: start to the last seeded user served", thousands(n)), "s", time.Since(op.Started).Seconds())
	}
	quietAfter, quiet, err := settle(ctx, op)
	if err != nil {
		return err
	}
	sc.record(at("settle_s"), fmt.Sprintf("%s users: ready to quiet (controllers' first pass)", thousands(n)), "s", quietAfter.Seconds())
	if !quiet {
		sc.note("At %s users the operator was still busy %s after start-up; memory was read anyway.", thousands(n), settleLimit)
	}
	sc.RunSeconds = append(sc.RunSeconds, time.Since(op.Started).Seconds())
	m, err := op.Mem(ctx, true)
	if err != nil {
		return err
	}
	b.say("  ready after %.2f s, quiet %.1f s later; Go heap %.1f MiB, RSS %.1f MiB", ready.Seconds(), quietAfter.Seconds(),
		float64(m.HeapLiveBytes)/(1<<20), float64(m.RSSBytes)/(1<<20))
	mk := func(k string) string { return fmt.Sprintf("memory.u%d.%s", n, k) }
	const mib = 1 << 20
	sc.recordAt("Go heap (live, after GC)", n, mk("heap_mib"), fmt.Sprintf("%s users: Go heap, live after GC", thousands(n)), "MiB", float64(m.HeapLiveBytes)/mib)
	sc.recordAt("RSS", n, mk("rss_mib"), fmt.Sprintf("%s users: RSS when quiet", thousands(n)), "MiB", float64(m.RSSBytes)/mib)
	sc.recordAt("peak RSS", n, mk("peak_rss_mib"), fmt.Sprintf("%s users: peak RSS since start", thousands(n)), "MiB", float64(m.PeakRSSBytes)/mib)
	if base := sc.figure("memory.u0.heap_mib"); n > 0 && base != nil && len(base.Values) > 0 {
		baseRSS := median(sc.figure("memory.u0.rss_mib").Values) * mib
		sc.record(mk("heap_per_user_b"), fmt.Sprintf("%s users: Go heap per user above baseline", thousands(n)), "B",
			(float64(m.HeapLiveBytes)-median(base.Values)*mib)/float64(n))
		sc.record(mk("rss_per_user_b"), fmt.Sprintf("%s users: RSS per user above baseline", thousands(n)), "B",
			(float64(m.RSSBytes)-baseRSS)/float64(n))
	}
	return nil
}

// startReady starts the operator (label names its log, vars are added to
// its environment), makes it env's and waits until it serves.
func (b *bench) startReady(ctx context.Context, env *bigEnv, label string, vars ...string) (time.Duration, error) {
	op, err := b.startOperator(ctx, env.cl, label, vars...)
	if err != nil {
		return 0, err
	}
	env.op = op
	return op.WaitReady(ctx, 5*time.Minute)
}

// settle waits until the operator is quiet and returns how long that took
// and whether it happened within settleLimit.
func settle(ctx context.Context, op *Operator) (time.Duration, bool, error) {
	began := time.Now()
	prev, err := op.Mem(ctx, false)
	if err != nil {
		return 0, false, err
	}
	quiet := 0
	for time.Since(began) < settleLimit {
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(time.Second):
		}
		cur, err := op.Mem(ctx, false)
		if err != nil {
			return 0, false, err
		}
		if cur.CPUSeconds-prev.CPUSeconds < quietCPU {
			quiet++
		} else {
			quiet = 0
		}
		prev = cur
		if quiet == quietWindows {
			return time.Since(began) - quietWindows*time.Second, true, nil
		}
	}
	return time.Since(began), false, nil
}

// limitTarget is the memory target per user of scenario 5.
const limitTarget = 4 << 10

// limitedRestart removes the large group, then starts the operator on the
// largest scale's users as a container sized at the target would run it:
// limit = baseline RSS + 4 KiB per user, and the Go soft memory limit
// (GOMEMLIMIT) that --memory-limit-ratio 0.9 sets from a container's limit
// (operator.SoftLimit). Without a limit the collector lets the heap grow to
// twice its live size; this measures whether the operator fits, and what
// fitting costs at start-up.
func (b *bench) limitedRestart(ctx context.Context, env *bigEnv) error {
	sc := b.sc[scMemory]
	base := sc.figure("memory.u0.rss_mib")
	if base == nil || len(base.Values) == 0 {
		return fmt.Errorf("no baseline RSS was measured")
	}
	if env.op != nil {
		env.op.Stop()
		env.op = nil
	}
	for _, obj := range []client.Object{&scimv1.ScimGroup{}, &scimv1.ScimMembership{}} {
		if err := env.cl.Client.DeleteAllOf(ctx, obj, client.InNamespace(env.big.Namespace)); err != nil {
			return fmt.Errorf("removing the large group: %w", err)
		}
	}
	n := len(env.ids)
	limit := median(base.Values)*(1<<20) + float64(limitTarget*n)
	soft := uint64(operator.SoftLimit(int64(limit), 0.9))
	ready, err := b.startReady(ctx, env, "limited", fmt.Sprintf("GOMEMLIMIT=%d", soft))
	if err != nil {
		return err
	}
	op := env.op
	if _, err := NewSCIM(op.SCIMAddr, env.big).Expect(ctx, http.MethodGet, "/Users/"+env.ids[n-1], nil, http.StatusOK); err != nil {
		return fmt.Errorf("first read after start: %w", err)
	}
	if _, quiet, err := settle(ctx, op); err != nil {
		return err
	} else if !quiet {
		sc.note("Under the memory limit the operator was still busy %s after start-up; memory was read anyway.", settleLimit)
	}
	m, err := op.Mem(ctx, false)
	if err != nil {
		return err
	}
	const mib = 1 << 20
	users := thousands(n)
	sc.record("limited.limit_mib", fmt.Sprintf("%s users, limited: container size (baseline RSS + 4 KiB per user)", users), "MiB", limit/mib)
	sc.record("limited.gomemlimit_mib", fmt.Sprintf("%s users, limited: GOMEMLIMIT (--memory-limit-ratio 0.9 of it)", users), "MiB", float64(soft)/mib)
	sc.record("limited.ready_s", fmt.Sprintf("%s users, limited: start to ready", users), "s", ready.Seconds())
	sc.record("limited.peak_rss_mib", fmt.Sprintf("%s users, limited: peak RSS since start", users), "MiB", float64(m.PeakRSSBytes)/mib)
	sc.record("limited.rss_mib", fmt.Sprintf("%s users, limited: RSS when quiet", users), "MiB", float64(m.RSSBytes)/mib)
	sc.record("limited.peak_rss_per_user_b", fmt.Sprintf("%s users, limited: peak RSS per user above baseline", users), "B",
		(float64(m.PeakRSSBytes)-median(base.Values)*mib)/float64(n))
	b.say("  ready after %.2f s; peak RSS %.1f MiB in a %.1f MiB container (GOMEMLIMIT %.1f MiB)", ready.Seconds(),
		float64(m.PeakRSSBytes)/mib, limit/mib, float64(soft)/mib)
	return nil
}
