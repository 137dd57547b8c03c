package driver

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Previous names the earlier report a run is compared with (bench/README.md,
// "Against the previous report").
type Previous struct {
	Path    string    `json:"path"`
	Started time.Time `json:"started"`
	Commit  string    `json:"commit"`
	Scaled  bool      `json:"scaledDown"`
	report  *Report
}

// LatestResult returns the report.json of the newest recorded run under dir
// (bench/results/<date>/, newest by name), or "" when there is none.
func LatestResult(dir string) string {
	found, _ := filepath.Glob(filepath.Join(dir, "*", "report.json"))
	if len(found) == 0 {
		return ""
	}
	slices.Sort(found)
	return found[len(found)-1]
}

// loadPrevious reads an earlier report.json.
func loadPrevious(path string) (*Previous, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	r.summarize()
	return &Previous{Path: path, Started: r.Started, Commit: r.Machine.Commit, Scaled: r.Scaled, report: &r}, nil
}

// label names a report on a plot: the date it started and its commit.
func (p *Previous) label() string {
	return fmt.Sprintf("previous: %s (%s)", p.Started.UTC().Format("2006-01-02"), p.Commit)
}

// comparePoint is one figure of a report as a plot point at x.
func comparePoint(r *Report, key string, x float64) (point, bool) {
	f := r.figure(key)
	if f == nil || len(f.Values) == 0 {
		return point{}, false
	}
	return point{X: x, Y: median(f.Values), Lo: slices.Min(f.Values), Hi: slices.Max(f.Values)}, true
}

// compareCurves builds, for this run and the previous one, a curve of the
// figure keyOf(x) at each x.
func (r *Report) compareCurves(xs []int, keyOf func(int) string) []curve {
	reports := []struct {
		name, color string
		dashed      bool
		rep         *Report
	}{
		{r.Previous.label(), "#7f7f7f", true, r.Previous.report},
		{fmt.Sprintf("this run (%s)", r.Machine.Commit), "#1f77b4", false, r},
	}
	var out []curve
	for _, c := range reports {
		cu := curve{Name: c.name, Color: c.color, Dashed: c.dashed}
		for _, x := range xs {
			if p, ok := comparePoint(c.rep, keyOf(x), float64(x)); ok {
				cu.Points = append(cu.Points, p)
			}
		}
		if len(cu.Points) > 0 {
			out = append(out, cu)
		}
	}
	return out
}

// writeComparePlots writes compare-sync.svg (initial sync wall time against
// clients) and compare-rss.svg (RSS per user against users), each with this
// run and the previous report, when both measured it.
func (r *Report) writeComparePlots(dir string) error {
	if r.Previous == nil {
		return nil
	}
	clients := slices.Clone(r.Sizes.Clients)
	for _, c := range r.Previous.report.Sizes.Clients {
		if !slices.Contains(clients, c) {
			clients = append(clients, c)
		}
	}
	slices.Sort(clients)
	scales := slices.Clone(r.Sizes.ReadScales)
	for _, n := range r.Previous.report.Sizes.ReadScales {
		if !slices.Contains(scales, n) {
			scales = append(scales, n)
		}
	}
	slices.Sort(scales)
	for _, p := range []struct {
		file string
		c    chart
		xs   []int
		key  func(int) string
	}{
		{"compare-sync.svg", chart{Title: "Initial sync, first request to everything projected", XLabel: "concurrent IdP clients", YLabel: "wall time (s)"},
			clients, func(c int) string { return fmt.Sprintf("sync.c%d.wall_s", c) }},
		{"compare-rss.svg", chart{Title: "Operator RSS per user above baseline, settled", XLabel: "users of the endpoint", YLabel: "bytes per user", LogX: true},
			scales, func(n int) string { return fmt.Sprintf("memory.u%d.rss_per_user_b", n) }},
	} {
		p.c.Curves = r.compareCurves(p.xs, p.key)
		if len(p.c.Curves) < 2 {
			continue // nothing to compare
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), []byte(p.c.svg()), 0o644); err != nil {
			return err
		}
		r.Plots = append(r.Plots, p.file)
	}
	return nil
}

// renderComparison writes the "Against the previous report" section: each
// target's figure in both reports and the change.
func renderComparison(b *strings.Builder, r *Report) {
	pr := r.Previous
	if pr == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## Against the previous report")
	p("")
	p("Previous: `%s`, started %s, commit %s.", pr.Path, pr.Started.UTC().Format(time.RFC3339), pr.Commit)
	if pr.Scaled != r.Scaled {
		p("**One of the two runs is scaled down: their figures are not comparable.**")
	}
	p("")
	p("| Figure | Previous | This run | Change |")
	p("|---|---:|---:|---:|")
	for _, t := range targets(r.Sizes) {
		now, prev := r.figure(t.key), pr.report.figure(t.key)
		if now == nil || prev == nil || len(now.Values) == 0 || len(prev.Values) == 0 {
			continue
		}
		a, c := median(prev.Values), median(now.Values)
		change := "–"
		if a != 0 {
			change = fmt.Sprintf("%+.0f%%", (c-a)/a*100)
		}
		p("| `%s` | %s | %s | %s |", t.key, fmtVal(a, t.unit), fmtVal(c, t.unit), change)
	}
	p("")
}
