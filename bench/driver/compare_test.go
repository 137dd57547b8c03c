package driver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestComparisonWithThePreviousReport(t *testing.T) {
	dir := t.TempDir()
	old := &Report{Started: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Sizes: SizesFor(1), Scenarios: scenarios(),
		Machine: Machine{Commit: "327a816"}}
	sync, memory := old.Scenarios[0], func(r *Report) *Scenario {
		for _, s := range r.Scenarios {
			if s.ID == "memory" {
				return s
			}
		}
		t.Fatal("no memory scenario")
		return nil
	}
	sync.record("sync.c16.wall_s", "wall", "s", 106)
	sync.record("sync.c64.wall_s", "wall", "s", 89)
	sync.record("sync.c16.members_phase_s", "members", "s", 65)
	memory(old).recordAt("RSS per user", 100000, "memory.u100000.rss_per_user_b", "rss", "B", 8154)
	data, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "results", "2026-11-26c"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "results", "2026-11-26c", "report.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "results", "2026-11-26"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := LatestResult(filepath.Join(dir, "results")); got != path {
		t.Errorf("LatestResult = %q, want the newest folder's %q", got, path)
	}

	prev, err := loadPrevious(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Sizes: SizesFor(1), Scenarios: scenarios(), Machine: Machine{Commit: "abc1234"}, Previous: prev}
	r.Scenarios[0].record("sync.c16.wall_s", "wall", "s", 53)
	r.Scenarios[0].record("sync.c16.wall_s", "wall", "s", 55)
	memory(r).recordAt("RSS per user", 100000, "memory.u100000.rss_per_user_b", "rss", "B", 4000)
	r.summarize()
	if err := r.writeComparePlots(dir); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Plots, ",") != "compare-sync.svg,compare-rss.svg" {
		t.Errorf("plots = %v, want both comparisons", r.Plots)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "compare-sync.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"previous: 2026-11-26 (327a816)", "this run (abc1234)", "concurrent IdP clients"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("compare-sync.svg lacks %q", want)
		}
	}
	var b strings.Builder
	renderComparison(&b, r)
	for _, want := range []string{
		"| `sync.c16.wall_s` | 106 s | 54.0 s | -49% |",
		"| `memory.u100000.rss_per_user_b` | 8,154 B | 4,000 B | -51% |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "members_phase") {
		t.Errorf("a figure this run did not measure is compared:\n%s", b.String())
	}
}
