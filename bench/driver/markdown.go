package driver

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// budget is the time bench/README.md gives a full run of `make bench`.
const budget = 30 * time.Minute

// renderMarkdown renders the report for people: the targets first, then each
// scenario's figures with their run-to-run range, then the profile.
func renderMarkdown(r *Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# scim-operator benchmark report")
	p("")
	if r.Scaled {
		p("> **Scaled-down run (scale %g).** Every size is %g× the full run's; the figures show the method works, "+
			"they do **not** answer the targets. Run `make bench` (scale 1) on a quiet machine for those.", r.Scale, r.Scale)
		p("")
	}
	if !r.Scaled && r.Seconds > budget.Seconds() {
		p("> **Over budget:** this run took %s; `make bench` should finish within %s (see bench/README.md for the knobs).",
			(time.Duration(r.Seconds) * time.Second).String(), budget)
		p("")
	}
	m := r.Machine
	p("- Started %s, took %s; %d runs of each measurement (initial sync: %d per concurrency level); "+
		"figures are the median with the min–max over runs.",
		r.Started.UTC().Format(time.RFC3339), (time.Duration(r.Seconds) * time.Second).String(), r.Runs, r.SyncRuns)
	p("- Machine: %d CPUs, %s, kube-apiserver %s, etcd %s, commit %s.", m.CPUs, m.GoVersion, m.Kubernetes, m.Etcd, m.Commit)
	p("- Load average before: %s; after: %s (other work on the machine skews figures; compare min–max).", m.LoadBefore, m.LoadAfter)
	p("- Operator: %s", m.OperatorRun)
	s := r.Sizes
	p("- Sizes: initial sync %s users, %d groups, %s memberships (Okta PATCH batches of %d), clients %v; write ratio %d rounds of %d users; "+
		"reads and memory at %s users (%d requests per kind and round, every %dth a page); %d deactivations per run; large group of %s members (PATCH batches of %d), %d member changes.",
		thousands(s.SyncUsers), s.SyncGroups, thousands(s.Memberships()), s.MemberBatch, s.Clients, s.WriteRounds, s.WriteUsers,
		joinInts(s.ReadScales), s.ReadQueries, s.PageEvery, s.DeprovSamples, thousands(s.BigUsers()), s.GroupBatch, s.MemberChanges)
	p("")
	p("## Targets")
	p("")
	p("| Target | Median | Worst run | Status |")
	p("|---|---:|---:|---|")
	for _, v := range r.Targets {
		status := v.Status
		switch v.Status {
		case StatusMet:
			status = "✅ met"
		case StatusMissed:
			status = "❌ **missed**"
		}
		if r.Scaled && v.Status != StatusNotMeasured {
			status += " (scaled run: indicative only)"
		}
		p("| %s | %s | %s | %s |", v.Target, optVal(v.Median, v.Unit), optVal(v.Worst, v.Unit), status)
	}
	p("")
	for _, plot := range r.Plots {
		p("![%s](%s)", strings.TrimSuffix(plot, ".svg"), plot)
		p("")
	}
	renderComparison(&b, r)
	for _, sc := range r.Scenarios {
		renderScenario(&b, sc)
	}
	if pr := r.Profile; pr != nil {
		p("## CPU profile of the slowest scenario")
		p("")
		p("Scenario **%s** (median run %.1f s). Operator CPU profile: `%s` (from this folder: `go tool pprof -http=: %s`).", pr.Scenario, pr.RunSeconds, pr.File, pr.File)
		p("Every scenario's profile is kept under `profiles/`.")
		if len(pr.Top) > 0 {
			p("")
			p("```")
			for _, l := range pr.Top {
				p("%s", l)
			}
			p("```")
		}
		p("")
	}
	if len(r.Errors) > 0 {
		p("## Errors")
		p("")
		for _, e := range r.Errors {
			p("- %s", e)
		}
	}
	return b.String()
}

func renderScenario(b *strings.Builder, sc *Scenario) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## %s", sc.Title)
	p("")
	p("%s", sc.Method)
	p("")
	if len(sc.Figures) > 0 {
		p("| Figure | Median | Min – max | Runs |")
		p("|---|---:|---:|---:|")
		for _, f := range sc.Figures {
			if len(f.Values) == 0 {
				p("| %s | – | – | 0 |", f.Name)
				continue
			}
			p("| %s | %s | %s – %s | %d |", f.Name, fmtVal(f.Median, f.Unit), fmtNum(f.Min), fmtNum(f.Max), len(f.Values))
		}
		p("")
	}
	for _, n := range sc.Notes {
		p("- %s", n)
	}
	for _, e := range sc.Errors {
		p("- **Error:** %s", e)
	}
	if sc.Profile != "" {
		p("- Operator profile (pprof) of the last run: `%s`.", sc.Profile)
	}
	if len(sc.Notes)+len(sc.Errors) > 0 || sc.Profile != "" {
		p("")
	}
}

func optVal(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	return fmtVal(*v, unit)
}

func fmtVal(v float64, unit string) string {
	if unit == "" || unit == "ratio" {
		return fmtNum(v)
	}
	return fmtNum(v) + " " + unit
}

// fmtNum prints about three significant digits, with thousands separators
// above 1,000 and never in exponent form.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 1000:
		sign := ""
		if v < 0 {
			sign = "-"
		}
		return sign + thousands(int(math.Round(a)))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = thousands(n)
	}
	return strings.Join(s, ", ")
}
