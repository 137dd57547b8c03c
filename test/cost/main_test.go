package cost

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/kube"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// srv is the SCIM server every test of the package talks to, live counts the
// reads it makes past its cache, and op carries its address and an admin
// client for testharness' endpoint helpers.
var (
	srv  *scimserver.Server
	live *kube.CountingReader
	op   *testharness.Operator
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(testharness.WithControlPlane(func(cp *controlplane.ControlPlane) int { return run(m, cp) }))
}

// run starts a manager on cp that runs the SCIM server alone (no
// reconcilers: nothing else reads or writes while a test counts), built as
// internal/operator builds it but with a counting live reader.
func run(m *testing.M, cp *controlplane.ControlPlane) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := startServer(ctx, cp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "SCIM server:", err)
		return 1
	}
	admin, err := cp.Client()
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	op = &testharness.Operator{CP: cp, Client: admin, Addr: addr}
	return m.Run()
}

func startServer(ctx context.Context, cp *controlplane.ControlPlane) (string, error) {
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme: kube.Scheme(), Logger: logr.Discard(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		return "", err
	}
	if err := scimstore.RegisterIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return "", err
	}
	registry := scimserver.NewRegistry()
	loader := &scimserver.RegistryReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Registry: registry}
	if err := loader.SetupWithManager(mgr); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	live = &kube.CountingReader{Reader: mgr.GetAPIReader()}
	srv = scimserver.New(scimserver.Options{Listener: ln, Preload: loader.LoadAll},
		mgr.GetClient(), live, mgr.GetCache(), registry, logr.Discard())
	if err := mgr.Add(srv); err != nil {
		return "", err
	}
	go func() { _ = mgr.Start(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	return srv.Addr(wctx)
}

// liveReads returns how many reads past the cache f made. Tests of this
// package do not run in parallel, so every read counted is f's.
func liveReads(f func()) int64 {
	before := live.Reads()
	f()
	return live.Reads() - before
}
