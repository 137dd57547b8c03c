package driver

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	rpprof "runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/scimserver"
)

// ChildArg, as the first argument of the scimbench binary, makes it run the
// operator instead of the driver. The driver starts itself this way, so the
// operator's memory and CPU are its own process's, not mixed with the
// load generator's.
const ChildArg = "operator-child"

// childAddrs is the first line the child prints on stdout.
type childAddrs struct {
	SCIM    string `json:"scim"`
	Control string `json:"control"`
}

// MemSample is the operator's memory and CPU at one moment.
type MemSample struct {
	// RSSBytes and PeakRSSBytes are VmRSS and VmHWM: what a container's
	// memory limit sees now and at worst so far.
	RSSBytes     uint64 `json:"rssBytes"`
	PeakRSSBytes uint64 `json:"peakRssBytes"`
	// HeapLiveBytes is the Go heap reachable after a GC (runtime/metrics
	// /gc/heap/live:bytes); with gc=1 a GC runs first, so it is exact.
	HeapLiveBytes uint64 `json:"heapLiveBytes"`
	// GoTotalBytes is all memory the Go runtime mapped (/memory/classes/total:bytes).
	GoTotalBytes uint64 `json:"goTotalBytes"`
	// AllocBytes is every heap allocation since the process started
	// (/gc/heap/allocs:bytes): the difference over some requests is what
	// they allocated.
	AllocBytes uint64  `json:"allocBytes"`
	CPUSeconds float64 `json:"cpuSeconds"`
	Goroutines int     `json:"goroutines"`
}

// RunChild runs the operator the way main.go does, on the control plane of
// the kubeconfig, with the SCIM server and a control server on free loopback
// ports. The control server answers the driver: readiness, memory, CPU
// profiles, Prometheus metrics and pprof. Logs go to stderr as in production
// (JSON, info level), which the driver sends to a file.
func RunChild(args []string) error {
	fs := flag.NewFlagSet(ChildArg, flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the control plane")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("loading %s: %w", *kubeconfig, err)
	}
	opts := []zap.Opts{zap.WriteTo(os.Stderr)}
	if v, err := strconv.Atoi(os.Getenv("SCIMBENCH_OPERATOR_V")); err == nil && v > 0 {
		opts = append(opts, zap.Level(zapcore.Level(-v)))
	}
	logger := zap.New(opts...)
	ctrllog.SetLogger(logger)
	scimLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	op, err := operator.New(cfg, operator.Options{MetricsAddr: "0", ProbeAddr: "0", Logger: logger,
		SCIM: scimserver.Options{Listener: scimLn}})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctl := &http.Server{Handler: controlMux(op), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = ctl.Serve(ctlLn) }()
	defer ctl.Close()
	if err := json.NewEncoder(os.Stdout).Encode(childAddrs{SCIM: scimLn.Addr().String(), Control: ctlLn.Addr().String()}); err != nil {
		return err
	}
	return op.Manager.Start(ctx)
}

// controlMux serves the driver's questions to the operator process.
func controlMux(op *operator.Operator) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := op.SCIM.ReadyCheck(r); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /mem", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(sampleMemory())
	})
	var prof cpuProfile
	mux.HandleFunc("POST /cpu/start", func(w http.ResponseWriter, r *http.Request) {
		if err := prof.start(r.URL.Query().Get("file")); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	mux.HandleFunc("POST /cpu/stop", func(w http.ResponseWriter, _ *http.Request) {
		if err := prof.stop(); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	return mux
}

// sampleMemory reads the process's memory and CPU figures.
func sampleMemory() MemSample {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	m := MemSample{CPUSeconds: cpuSeconds(), Goroutines: runtime.NumGoroutine()}
	m.RSSBytes, m.PeakRSSBytes = residentBytes()
	if s[0].Value.Kind() == metrics.KindUint64 {
		m.HeapLiveBytes = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		m.GoTotalBytes = s[1].Value.Uint64()
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		m.AllocBytes = s[2].Value.Uint64()
	}
	return m
}

// cpuProfile is at most one CPU profile being written to a file.
type cpuProfile struct {
	mu sync.Mutex
	f  *os.File
}

func (p *cpuProfile) start(path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		return errors.New("a CPU profile is already running")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	return nil
}

func (p *cpuProfile) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return errors.New("no CPU profile is running")
	}
	rpprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	return err
}
