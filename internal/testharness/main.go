package testharness

import (
	"fmt"
	"io"
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
)

// WithControlPlane is the body of a package's TestMain: it starts one control
// plane for the package, runs run on it and stops it, returning run's exit
// code. Starting once per package keeps suites fast; tests isolate themselves
// by namespace. SCIM_TEST_CONTROLPLANE_OUTPUT=1 shows the control plane's logs.
func WithControlPlane(run func(*controlplane.ControlPlane) int) int {
	cp, err := controlplane.Start(controlplane.Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, "control plane:", err)
		return 1
	}
	code := run(cp)
	if err := cp.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping control plane:", err)
	}
	return code
}

// RunTests runs the package's tests on one control plane, stored in *cp.
func RunTests(m *testing.M, cp **controlplane.ControlPlane) int {
	return WithControlPlane(func(c *controlplane.ControlPlane) int {
		*cp = c
		return m.Run()
	})
}

// RunTestsWithOperator runs the package's tests against one control plane
// and one whole operator (SCIM server and reconcilers, no leader election),
// stored in *op.
func RunTestsWithOperator(m *testing.M, op **Operator) int {
	return WithControlPlane(func(cp *controlplane.ControlPlane) int {
		started, err := StartOperator(cp, false)
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the operator:", err)
			return 1
		}
		*op = started
		code := m.Run()
		if err := started.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the operator:", err)
		}
		return code
	})
}

// RunOperator starts an operator on cp as opts say and stops it when the
// test ends, failing the test if it cannot start or stop cleanly.
func RunOperator(t testing.TB, cp *controlplane.ControlPlane, opts Options) *Operator {
	t.Helper()
	op, err := StartOperatorWith(cp, opts)
	if err != nil {
		t.Fatalf("starting the operator: %v", err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})
	return op
}

// RunTestsWithPostgres runs the package's tests against one control plane
// and one local PostgreSQL server, stored in *cp and *pg, with the
// controller-runtime log discarded.
func RunTestsWithPostgres(m *testing.M, cp **controlplane.ControlPlane, pg **localpg.Server) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	return WithControlPlane(func(c *controlplane.ControlPlane) int {
		*cp = c
		return pgtest.RunMain(m, func(s *localpg.Server) { *pg = s })
	})
}
