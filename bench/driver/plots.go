package driver

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// palette colours curves by their operation, so p50 and p99 of one read share a colour.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// curvesOf builds one curve per figure series of a scenario, points sorted by
// users. A series ending in "p50" or starting with "peak" is dashed, in the
// colour of its p99 or current counterpart.
func curvesOf(sc *Scenario) []curve {
	var order []string
	bySeries := map[string][]point{}
	for _, f := range sc.Figures {
		if f.Series == "" || len(f.Values) == 0 {
			continue
		}
		if _, seen := bySeries[f.Series]; !seen {
			order = append(order, f.Series)
		}
		bySeries[f.Series] = append(bySeries[f.Series], point{X: float64(f.Users), Y: median(f.Values), Lo: slices.Min(f.Values), Hi: slices.Max(f.Values)})
	}
	colours := map[string]string{}
	var out []curve
	for _, name := range order {
		op := strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(strings.TrimSuffix(name, "p50"), "p99"), "peak "))
		if colours[op] == "" {
			colours[op] = palette[len(colours)%len(palette)]
		}
		pts := bySeries[name]
		slices.SortFunc(pts, func(a, b point) int { return int(a.X - b.X) })
		out = append(out, curve{Name: name, Color: colours[op], Dashed: strings.HasSuffix(name, "p50") || strings.HasPrefix(name, "peak "), Points: pts})
	}
	return out
}

// writePlots writes latency.svg (read latency against users) and memory.svg
// (operator memory against users) when their scenarios measured anything,
// and lists them in the report.
func (r *Report) writePlots(dir string) error {
	r.Plots = nil
	for _, p := range []struct {
		file, scenario string
		c              chart
	}{
		{"latency.svg", "reads", chart{Title: "SCIM read latency against users (one client, sequential)", XLabel: "users of the endpoint",
			YLabel: "latency (ms, log scale)", LogX: true, LogY: true}},
		{"memory.svg", "memory", chart{Title: "Operator memory against users (after start-up settled)", XLabel: "users of the endpoint",
			YLabel: "MiB"}},
	} {
		var sc *Scenario
		for _, s := range r.Scenarios {
			if s.ID == p.scenario {
				sc = s
			}
		}
		if sc == nil {
			continue
		}
		p.c.Curves = curvesOf(sc)
		if len(p.c.Curves) == 0 {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), []byte(p.c.svg()), 0o644); err != nil {
			return err
		}
		r.Plots = append(r.Plots, p.file)
	}
	return nil
}
