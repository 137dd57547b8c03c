package driver

import (
	"errors"
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	r := &Report{Scale: 0.02, Scaled: true, Runs: 3, SyncRuns: 2, Sizes: SizesFor(0.02), Scenarios: scenarios(), Plots: []string{"latency.svg"}}
	r.Scenarios[0].record("sync.c16.lag_s", "16 clients: projection lag", "s", 0.4)
	r.Scenarios[0].record("sync.c16.lag_s", "16 clients: projection lag", "s", 12)
	r.Scenarios[0].record("sync.c16.lag_s", "16 clients: projection lag", "s", 0.6)
	r.Scenarios[1].fail(errors.New("POST /Users answered 500"))
	r.summarize()
	r.Targets = checkTargets(r)
	md := renderMarkdown(r)
	for _, tc := range []struct{ reason, want string }{
		{"a scaled run says its figures do not answer the targets", "**Scaled-down run (scale 0.02).**"},
		{"figures show the median and the range over runs", "| 16 clients: projection lag | 0.60 s | 0.40 – 12.0 | 3 |"},
		{"targets are judged on the median, the worst run shown", "| initial sync projection lag, 16 clients < 10 s | 0.60 s | 12.0 s | ✅ met (scaled run: indicative only) |"},
		{"unmeasured targets say so", "| write ratio, 16 clients ≥ 0.9 | – | – | not measured |"},
		{"errors are in the scenario's section", "- **Error:** POST /Users answered 500"},
		{"plots are linked", "![latency](latency.svg)"},
	} {
		if !strings.Contains(md, tc.want) {
			t.Errorf("%s: report lacks %q", tc.reason, tc.want)
		}
	}
	if strings.Contains(md, "Over budget") {
		t.Errorf("a scaled run is never over the full run's budget")
	}
	r.Scaled, r.Seconds = false, 31*60
	if !strings.Contains(renderMarkdown(r), "**Over budget:**") {
		t.Errorf("a full run over 30 minutes does not say so")
	}
}
