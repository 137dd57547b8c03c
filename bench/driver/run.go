// Package driver is the benchmark behind `make bench` (issue 7): it starts
// real control planes and a PostgreSQL server, runs the operator as a
// subprocess, drives it only through SCIM as an identity provider would, and
// writes a report (Markdown, JSON, SVG plots) with the operator's CPU profiles.
package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
)

// Stages of a run; Config.Only selects among them.
const (
	// StageSync is scenarios 1 and 4: fresh control planes, Okta-style
	// initial syncs and deprovisioning against a TenantApp and bindings.
	StageSync = "sync"
	// StageBig is scenarios 2, 3, 5 and 6 on one control plane that grows
	// to the largest number of users.
	StageBig = "big"
)

// bench is the state of one run.
type bench struct {
	cfg    Config
	sizes  Sizes
	report *Report
	out    string
	pg     *localpg.Server
	ops    int // operators started, to number their logs
	sc     map[string]*Scenario
	// countChecks and countMismatches compare the operator's request
	// counter with the driver's after each initial sync.
	countChecks, countMismatches int
}

// Run runs the benchmark and writes the report into cfg.OutDir, also when a
// stage failed (its errors are in the report). The error is for failures
// that left no report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Runs, cfg.SyncRuns = max(cfg.Runs, 1), max(cfg.SyncRuns, 1)
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	out, err := filepath.Abs(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{out, filepath.Join(out, "logs"), filepath.Join(out, "profiles")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := controlplane.CheckBinaries(); err != nil {
		return nil, err
	}
	var previous *Previous
	if cfg.Previous != "" {
		// Read first: a typo should not cost a 17-minute run.
		if previous, err = loadPrevious(cfg.Previous); err != nil {
			return nil, fmt.Errorf("the previous report: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := &bench{cfg: cfg, sizes: SizesFor(cfg.Scale), out: out, sc: map[string]*Scenario{}}
	b.report = &Report{Started: time.Now(), Scale: cfg.Scale, Scaled: cfg.Scale != 1, Runs: cfg.Runs, SyncRuns: cfg.SyncRuns, Sizes: b.sizes,
		Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Kubernetes: controlplane.KubernetesVersion,
			Etcd: controlplane.EtcdVersion, Commit: commit(), LoadBefore: loadAverage(),
			OperatorRun: fmt.Sprintf("a subprocess (this binary in %s mode: internal/operator.New, as main.go, JSON logs at info level into logs/), "+
				"GOMAXPROCS %d, sharing the machine with kube-apiserver, etcd, PostgreSQL and the driver.", ChildArg, runtime.NumCPU())},
		Previous: previous}
	defer func() {
		if b.pg != nil {
			_ = b.pg.Stop()
		}
	}()
	for _, s := range scenarios() {
		b.report.Scenarios = append(b.report.Scenarios, s)
		b.sc[s.ID] = s
	}
	if b.selected(StageSync) {
		b.runSync(ctx)
	}
	if b.selected(StageBig) && ctx.Err() == nil {
		b.runBig(ctx)
	}
	if ctx.Err() != nil {
		b.report.Errors = append(b.report.Errors, fmt.Sprintf("the run ended early: %v (limit %s)", context.Cause(ctx), cfg.Timeout))
	}
	return b.report, b.finish()
}

func (b *bench) selected(stage string) bool { return len(b.cfg.Only) == 0 || b.cfg.Only[stage] }

func (b *bench) say(format string, args ...any) {
	b.cfg.Log("[%s] "+format, append([]any{time.Since(b.report.Started).Round(time.Second)}, args...)...)
}

// finish writes plots, the profile summary and the report.
func (b *bench) finish() error {
	r := b.report
	r.Machine.LoadAfter = loadAverage()
	r.Seconds = time.Since(r.Started).Seconds()
	r.summarize()
	r.Profile = summarizeProfile(r, b.out)
	if err := r.writePlots(b.out); err != nil {
		r.Errors = append(r.Errors, "writing plots: "+err.Error())
	}
	if err := r.writeComparePlots(b.out); err != nil {
		r.Errors = append(r.Errors, "writing comparison plots: "+err.Error())
	}
	return r.write(b.out)
}

// save writes the report so far, so an interrupted run still leaves one.
func (b *bench) save() {
	b.report.Seconds = time.Since(b.report.Started).Seconds()
	if err := b.report.write(b.out); err != nil {
		b.say("writing the report: %v", err)
	}
}

// startOperator starts an operator subprocess on cl, logging into logs/.
func (b *bench) startOperator(ctx context.Context, cl *Cluster, label string, env ...string) (*Operator, error) {
	b.ops++
	log := filepath.Join(b.out, "logs", fmt.Sprintf("operator-%02d-%s.log", b.ops, label))
	return StartOperator(ctx, cl.Kubeconfig, log, env...)
}

// profiled runs fn while the operator writes a CPU profile of it into
// profiles/<scenario>.pprof (the last run's profile is kept).
func (b *bench) profiled(ctx context.Context, op *Operator, sc *Scenario, fn func() error) error {
	rel := filepath.Join("profiles", sc.ID+".pprof")
	perr := op.StartCPUProfile(ctx, filepath.Join(b.out, rel))
	err := fn()
	if perr == nil {
		perr = op.StopCPUProfile(context.WithoutCancel(ctx))
	}
	if perr == nil {
		sc.Profile = rel
	} else {
		sc.note("no CPU profile: %v", perr)
	}
	return err
}

// tempDir makes a folder for a control plane's kubeconfig.
func (b *bench) tempDir(prefix string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "scimbench-"+prefix+"-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// startPostgres starts the run's PostgreSQL server once.
func (b *bench) startPostgres(ctx context.Context) error {
	if b.pg != nil {
		return nil
	}
	pg, err := localpg.Start(ctx, localpg.Options{})
	if err != nil {
		if errors.Is(err, localpg.ErrBinariesMissing) {
			return fmt.Errorf("%w (on Debian/Ubuntu: apt-get install -y postgresql)", err)
		}
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	b.pg = pg
	return nil
}

// commit names the checked-out commit, with "+dirty" for local changes. It
// only reads: --no-optional-locks keeps git status from refreshing the index.
func commit() string {
	root := controlplane.RepoRoot()
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(head))
	if st, err := exec.Command("git", "--no-optional-locks", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}
