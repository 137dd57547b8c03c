package driver

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Report is everything one benchmark run measured. It is written as
// report.json (for machines and for comparing runs) and rendered as
// report.md, with plots beside it.
type Report struct {
	Started   time.Time       `json:"started"`
	Seconds   float64         `json:"durationSeconds"`
	Scale     float64         `json:"scale"`
	Scaled    bool            `json:"scaledDown"`
	Runs      int             `json:"runs"`
	SyncRuns  int             `json:"syncRuns"`
	Sizes     Sizes           `json:"sizes"`
	Machine   Machine         `json:"machine"`
	Scenarios []*Scenario     `json:"scenarios"`
	Targets   []Verdict       `json:"targets"`
	Profile   *ProfileSummary `json:"profile,omitempty"`
	Plots     []string        `json:"plots,omitempty"`
	// Previous is the earlier report this run is compared with.
	Previous *Previous `json:"previous,omitempty"`
	Errors   []string  `json:"errors,omitempty"`
}

// Machine describes where the figures were measured; a reader needs it to
// compare two reports.
type Machine struct {
	CPUs        int    `json:"cpus"`
	GoVersion   string `json:"goVersion"`
	Kubernetes  string `json:"kubernetes"`
	Etcd        string `json:"etcd"`
	Commit      string `json:"commit"`
	LoadBefore  string `json:"loadAverageBefore"`
	LoadAfter   string `json:"loadAverageAfter"`
	OperatorRun string `json:"operatorRun"`
}

// Scenario is one of the six measurements of bench/README.md (or a part of one).
type Scenario struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Method string `json:"method"`
	// Figures are the measured quantities, in the order they were first recorded.
	Figures []*Figure `json:"figures"`
	Notes   []string  `json:"notes,omitempty"`
	Errors  []string  `json:"errors,omitempty"`
	// RunSeconds is the wall time of each timed run; the scenario whose
	// median run is longest is "the slowest" whose profile the report shows.
	RunSeconds []float64 `json:"runSeconds,omitempty"`
	// Profile is the operator's CPU profile of the scenario's last run,
	// relative to the output folder.
	Profile string `json:"profile,omitempty"`
}

// Figure is one measured quantity: one value per run, and their median, min and max.
type Figure struct {
	Key    string    `json:"key"`
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	// Series and Users place the figure on a plot against the number of users.
	Series string `json:"series,omitempty"`
	Users  int    `json:"users,omitempty"`
}

// Verdict is one target of bench/README.md checked against the median of the runs.
type Verdict struct {
	Target string `json:"target"`
	Figure string `json:"figure"`
	// Below: the value must be under Threshold; otherwise at least Threshold.
	Below     bool     `json:"below"`
	Threshold float64  `json:"threshold"`
	Unit      string   `json:"unit"`
	Median    *float64 `json:"median,omitempty"`
	Worst     *float64 `json:"worst,omitempty"`
	Status    string   `json:"status"`
}

// Verdict statuses.
const (
	StatusMet         = "met"
	StatusMissed      = "missed"
	StatusNotMeasured = "not measured"
)

// record appends v as one run's value of the figure key, creating the figure
// on first use. Non-finite values (a rate over zero time) are dropped with a note.
func (s *Scenario) record(key, name, unit string, v float64) *Figure {
	f := s.figure(key)
	if f == nil {
		f = &Figure{Key: key, Name: name, Unit: unit}
		s.Figures = append(s.Figures, f)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s.note("%s: a run gave no finite value", name)
		return f
	}
	f.Values = append(f.Values, v)
	return f
}

// recordAt is record for a figure plotted against the number of users.
func (s *Scenario) recordAt(series string, users int, key, name, unit string, v float64) {
	f := s.record(key, name, unit, v)
	f.Series, f.Users = series, users
}

func (s *Scenario) figure(key string) *Figure {
	for _, f := range s.Figures {
		if f.Key == key {
			return f
		}
	}
	return nil
}

func (s *Scenario) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(s.Notes, msg) {
		s.Notes = append(s.Notes, msg)
	}
}

func (s *Scenario) fail(err error) { s.Errors = append(s.Errors, err.Error()) }

// summarize computes every figure's median, min and max.
func (r *Report) summarize() {
	for _, s := range r.Scenarios {
		for _, f := range s.Figures {
			if len(f.Values) == 0 {
				continue
			}
			f.Median, f.Min, f.Max = median(f.Values), slices.Min(f.Values), slices.Max(f.Values)
		}
	}
}

// figure finds a figure by key in any scenario.
func (r *Report) figure(key string) *Figure {
	for _, s := range r.Scenarios {
		if f := s.figure(key); f != nil {
			return f
		}
	}
	return nil
}

// write summarizes the report and writes report.json and report.md into dir.
func (r *Report) write(dir string) error {
	r.summarize()
	r.Targets = checkTargets(r)
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(renderMarkdown(r)), 0o644)
}
