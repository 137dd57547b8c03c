package driver

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ProfileSummary points at the CPU profile of the slowest scenario and
// quotes its hottest functions.
type ProfileSummary struct {
	Scenario   string   `json:"scenario"`
	RunSeconds float64  `json:"medianRunSeconds"`
	File       string   `json:"file"`
	Top        []string `json:"top,omitempty"`
}

// summarizeProfile picks the scenario with the longest median run that has
// a CPU profile and lists its top functions by cumulative CPU with
// `go tool pprof` (left out when the go command is missing).
func summarizeProfile(r *Report, out string) *ProfileSummary {
	var best *Scenario
	for _, s := range r.Scenarios {
		if len(s.RunSeconds) == 0 || !strings.HasSuffix(s.Profile, ".pprof") || strings.HasPrefix(filepath.Base(s.Profile), "heap") {
			continue
		}
		if best == nil || median(s.RunSeconds) > median(best.RunSeconds) {
			best = s
		}
	}
	if best == nil {
		return nil
	}
	p := &ProfileSummary{Scenario: best.Title, RunSeconds: median(best.RunSeconds), File: best.Profile}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, sort := range []string{"-cum", "-flat"} {
		cmd := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", sort, "-nodecount=20", filepath.Join(out, best.Profile))
		data, err := cmd.Output()
		if err != nil {
			return p
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		// Keep the header from "Showing nodes" on and the table.
		if i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "Showing nodes") }); i >= 0 {
			lines = lines[i:]
		}
		p.Top = append(p.Top, "$ go tool pprof -top "+sort+" -nodecount=20 "+best.Profile)
		p.Top = append(p.Top, lines...)
		p.Top = append(p.Top, "")
	}
	return p
}
