package driver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckTargets(t *testing.T) {
	r := &Report{Sizes: SizesFor(1), Scenarios: []*Scenario{{ID: "x"}}}
	s := r.Scenarios[0]
	for _, v := range []float64{0.95, 0.85, 0.91} {
		s.record("writes.c16.ratio", "ratio", "ratio", v)
	}
	s.record("writes.c64.ratio", "ratio", "ratio", 0.89)
	for _, v := range []float64{6, 4, 7} {
		s.record("reads.username.u100000.p99_ms", "p99", "ms", v)
	}
	s.record("reads.sorted.u100000.p50_ms", "p50", "ms", 12)
	s.record("reads.sorted.u100000.alloc_mib", "MiB", "MiB", 10.5)
	s.record("deprov.both.p99_ms", "p99", "ms", 250)
	s.record("sync.c16.lag_s", "lag", "s", 10)
	s.record("group.patch_last_ms", "ms", "ms", 501)
	s.record("deprov.entitlement.p99_ms", "p99", "ms", 1001)
	s.record("sync.fullsync.rows_per_s", "rows/s", "rows/s", 19999)
	got := map[string]string{}
	for _, v := range checkTargets(r) {
		got[v.Figure] = v.Status
	}
	want := map[string]string{
		"writes.c16.ratio":               StatusMet,    // median 0.91 ≥ 0.9, though one run missed
		"writes.c64.ratio":               StatusMissed, // 0.89 < 0.9
		"sync.c16.wall_s":                StatusNotMeasured,
		"sync.c16.members_phase_s":       StatusNotMeasured,
		"reads.page.u100000.p50_ms":      StatusNotMeasured,
		"reads.username.u100000.p99_ms":  StatusMissed, // median 6 ≥ 5
		"reads.sorted.u100000.p50_ms":    StatusMet,
		"reads.sorted.u100000.alloc_mib": StatusMissed, // 10.5 ≥ 10
		"deprov.both.p99_ms":             StatusMet,    // 250 ≤ 250
		"deprov.entitlement.p99_ms":      StatusMissed, // 1,001 ≥ 1,000
		"sync.c16.lag_s":                 StatusMissed, // 10 is not < 10
		"sync.c64.lag_s":                 StatusNotMeasured,
		"sync.fullsync.rows_per_s":       StatusMissed, // 19,999 < 20,000
		"memory.u100000.heap_per_user_b": StatusNotMeasured,
		"memory.u100000.rss_per_user_b":  StatusNotMeasured,
		"limited.peak_rss_per_user_b":    StatusNotMeasured,
		"restart.u100000.ready_s":        StatusNotMeasured,
		"group.cpu_per_change_ms":        StatusNotMeasured,
		"group.patch_last_ms":            StatusMissed, // 501 > 500
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{7: "7", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
