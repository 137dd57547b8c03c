package driver

import (
	"fmt"
	"slices"
)

// target is one target of bench/README.md, on one figure.
type target struct {
	name      string
	key       string
	below     bool
	threshold float64
	unit      string
	// orEqual: a median equal to the threshold meets the target.
	orEqual bool
}

// targets lists bench/README.md's targets for these sizes: the second
// round's where it set one, the first round's elsewhere. Those stated "at
// 100,000 users" apply to the largest read scale. A "≤" target is met by a
// median equal to it; a "<" target only below it.
func targets(s Sizes) []target {
	big := s.BigUsers()
	at := func(format string) string { return fmt.Sprintf(format, big) }
	var out []target
	for _, c := range s.Clients {
		out = append(out, target{fmt.Sprintf("write ratio, %d clients ≥ 0.9", c), fmt.Sprintf("writes.c%d.ratio", c), false, 0.9, "ratio", true})
	}
	if slices.Contains(s.Clients, 16) {
		out = append(out,
			target{"initial sync wall time, 16 clients ≤ 50 s", "sync.c16.wall_s", true, 50, "s", true},
			target{"its membership phase, 16 clients ≤ 15 s", "sync.c16.members_phase_s", true, 15, "s", true})
	}
	out = append(out,
		target{fmt.Sprintf("page of 100 p50 at %s users ≤ 5 ms", thousands(big)), at("reads.page.u%d.p50_ms"), true, 5, "ms", true},
		target{fmt.Sprintf("userName eq p99 at %s users < 5 ms", thousands(big)), at("reads.username.u%d.p99_ms"), true, 5, "ms", false},
		target{fmt.Sprintf("sorted page p50 at %s users ≤ 50 ms", thousands(big)), at("reads.sorted.u%d.p50_ms"), true, 50, "ms", true},
		target{fmt.Sprintf("sorted page allocation at %s users ≤ 10 MiB", thousands(big)), at("reads.sorted.u%d.alloc_mib"), true, 10, "MiB", true},
		target{"deprovisioning p99 (RoleBinding and tenant row) ≤ 250 ms", "deprov.both.p99_ms", true, 250, "ms", true},
		target{"entitlement revocation p99 (RoleBinding) < 1 s", "deprov.entitlement.p99_ms", true, 1000, "ms", false},
		target{"tenant full sync ≥ 20,000 rows/s", "sync.fullsync.rows_per_s", false, 20000, "rows/s", true})
	for _, c := range s.Clients {
		out = append(out, target{fmt.Sprintf("initial sync projection lag, %d clients < 10 s", c), fmt.Sprintf("sync.c%d.lag_s", c), true, 10, "s", false})
	}
	out = append(out,
		target{fmt.Sprintf("Go heap per user above baseline at %s users < 4 KiB", thousands(big)), at("memory.u%d.heap_per_user_b"), true, 4096, "B", false},
		target{fmt.Sprintf("RSS per user above baseline at %s users ≤ 4 KiB", thousands(big)), at("memory.u%d.rss_per_user_b"), true, 4096, "B", true},
		target{"peak RSS per user while the cache fills, memory-limited ≤ 4 KiB", "limited.peak_rss_per_user_b", true, 4096, "B", true},
		target{fmt.Sprintf("start to ready at %s users ≤ 10 s", thousands(big)), at("restart.u%d.ready_s"), true, 10, "s", true},
		target{"operator CPU per member change of the large group ≤ 50 ms", "group.cpu_per_change_ms", true, 50, "ms", true},
		target{"member-add PATCH in the last tenth of the large group ≤ 500 ms", "group.patch_last_ms", true, 500, "ms", true},
	)
	return out
}

// checkTargets judges each target on the median of its figure's runs, and
// also reports the worst run.
func checkTargets(r *Report) []Verdict {
	var out []Verdict
	for _, t := range targets(r.Sizes) {
		v := Verdict{Target: t.name, Figure: t.key, Below: t.below, Threshold: t.threshold, Unit: t.unit, Status: StatusNotMeasured}
		if f := r.figure(t.key); f != nil && len(f.Values) > 0 {
			med, worst := median(f.Values), slices.Min(f.Values)
			if t.below {
				worst = slices.Max(f.Values)
			}
			v.Median, v.Worst = &med, &worst
			v.Status = StatusMissed
			if (t.below && (med < t.threshold || t.orEqual && med == t.threshold)) || (!t.below && med >= t.threshold) {
				v.Status = StatusMet
			}
		}
		out = append(out, v)
	}
	return out
}

// thousands formats n with comma separators, as bench/README.md writes sizes.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
