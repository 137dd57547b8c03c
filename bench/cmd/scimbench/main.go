// Command scimbench is the benchmark behind `make bench`: it measures the
// whole product at scale (issue 7) and writes bench/out/report.md,
// report.json and SVG plots. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scim-operator/scim-operator/bench/driver"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == driver.ChildArg {
		if err := driver.RunChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "scimbench operator:", err)
			os.Exit(1)
		}
		return
	}
	var cfg driver.Config
	// An own flag set: controller-runtime registers --kubeconfig on the
	// global one, and the driver makes its own control planes.
	fs := flag.NewFlagSet("scimbench", flag.ExitOnError)
	fs.StringVar(&cfg.OutDir, "out", "bench/out", "Folder for the report, plots, profiles and operator logs.")
	fs.Float64Var(&cfg.Scale, "scale", 1, "Multiplier of every size (1 = the full run's: 10,000 users for the sync, 100,000 for reads and memory). "+
		"Use about 0.02 while developing.")
	fs.IntVar(&cfg.Runs, "runs", 2, "Repetitions of each measurement; figures are the median with min and max.")
	fs.IntVar(&cfg.SyncRuns, "sync-runs", 2, "Initial syncs (with deprovisioning after the 16-client ones) per concurrency level; "+
		"each takes minutes at scale 1.")
	fs.DurationVar(&cfg.Timeout, "timeout", 40*time.Minute, "Bound on the whole run.")
	fs.StringVar(&cfg.Previous, "previous", driver.LatestResult("bench/results"),
		"An earlier report.json to compare with (default: the newest under bench/results; empty for none).")
	only := fs.String("only", "", `Comma-separated stages to run: "sync" (scenarios 1, 4) and/or "big" (2, 3, 5, 6); empty runs all.`)
	assets := fs.String("assets", "", "Folder of kube-apiserver and etcd (sets KUBEBUILDER_ASSETS; default bin/k8s/<versions>).")
	_ = fs.Parse(os.Args[1:])
	if *assets != "" {
		_ = os.Setenv("KUBEBUILDER_ASSETS", *assets)
	}
	if cfg.Scale <= 0 || cfg.Scale > 1 || cfg.Runs < 1 || cfg.SyncRuns < 1 {
		fmt.Fprintln(os.Stderr, "scimbench: -scale must be in (0, 1], -runs and -sync-runs at least 1")
		os.Exit(2)
	}
	if *only != "" {
		cfg.Only = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			if s = strings.TrimSpace(s); s != driver.StageSync && s != driver.StageBig {
				fmt.Fprintf(os.Stderr, "scimbench: unknown stage %q in -only\n", s)
				os.Exit(2)
			}
			cfg.Only[strings.TrimSpace(s)] = true
		}
	}
	cfg.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	// The driver's own informers (it watches RoleBindings) have nothing to
	// say that the report does not; the operator logs into bench/out/logs.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := driver.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scimbench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "report: %s\n", filepath.Join(cfg.OutDir, "report.md"))
	for _, v := range r.Targets {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", v.Status, v.Target)
	}
	if len(r.Errors) > 0 {
		os.Exit(1)
	}
	for _, s := range r.Scenarios {
		if len(s.Errors) > 0 {
			os.Exit(1)
		}
	}
}
