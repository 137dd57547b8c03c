package tenantapp_test

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

// cp and pg are the control plane and PostgreSQL server every test of the
// package shares; each test works in its own namespace and database.
var (
	cp *controlplane.ControlPlane
	pg *localpg.Server
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	started, err := controlplane.Start(controlplane.Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, "control plane:", err)
		return 1
	}
	cp = started
	defer func() { _ = cp.Stop() }()
	return pgtest.RunMain(m, func(s *localpg.Server) { pg = s })
}
