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
}

// targets lists bench/README.md's targets for these sizes. Those
// stated "at 100,000 users" apply to the largest read scale.
func targets(s Sizes) []target {
	big := s.BigUsers()
	var out []target
	for _, c := range s.Clients {
		out = append(out, target{fmt.Sprintf("write ratio, %d clients ≥ 0.7", c), fmt.Sprintf("writes.c%d.ratio", c), false, 0.7, "ratio"})
	}
	out = append(out, target{fmt.Sprintf("userName eq p99 at %s users < 5 ms", thousands(big)), fmt.Sprintf("reads.username.u%d.p99_ms", big), true, 5, "ms"})
	out = append(out,
		target{fmt.Sprintf("sorted page p50 at %s users < 50 ms", thousands(big)), fmt.Sprintf("reads.sorted.u%d.p50_ms", big), true, 50, "ms"},
		target{fmt.Sprintf("sorted page allocation at %s users < 10 MiB", thousands(big)), fmt.Sprintf("reads.sorted.u%d.alloc_mib", big), true, 10, "MiB"})
	out = append(out, target{"deprovisioning p99 (RoleBinding and tenant row) < 1 s", "deprov.both.p99_ms", true, 1000, "ms"})
	out = append(out, target{"entitlement revocation p99 (RoleBinding) < 1 s", "deprov.entitlement.p99_ms", true, 1000, "ms"})
	out = append(out, target{"tenant full sync ≥ 20,000 rows/s", "sync.fullsync.rows_per_s", false, 20000, "rows/s"})
	for _, c := range s.Clients {
		out = append(out, target{fmt.Sprintf("initial sync projection lag, %d clients < 10 s", c), fmt.Sprintf("sync.c%d.lag_s", c), true, 10, "s"})
	}
	out = append(out,
		target{fmt.Sprintf("Go heap per user above baseline at %s users < 4 KiB", thousands(big)), fmt.Sprintf("memory.u%d.heap_per_user_b", big), true, 4096, "B"},
		target{fmt.Sprintf("RSS per user above baseline at %s users < 4 KiB", thousands(big)), fmt.Sprintf("memory.u%d.rss_per_user_b", big), true, 4096, "B"},
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
			if (t.below && med < t.threshold) || (!t.below && med >= t.threshold) {
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
