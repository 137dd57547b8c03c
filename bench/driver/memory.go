package driver

import (
	"context"
	"fmt"
	"net/http"
	"time"
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
	op, err := b.startOperator(ctx, env.cl, fmt.Sprintf("u%d", n))
	if err != nil {
		return err
	}
	env.op = op
	ready, err := op.WaitReady(ctx, 5*time.Minute)
	if err != nil {
		return err
	}
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
