package tenantdb_test

import (
	"io"
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// cp and pg are the control plane and PostgreSQL server every test of the
// package shares; each test works in its own namespace and database.
var (
	cp *controlplane.ControlPlane
	pg *localpg.Server
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	os.Exit(testharness.WithControlPlane(func(c *controlplane.ControlPlane) int {
		cp = c
		return pgtest.RunMain(m, func(s *localpg.Server) { pg = s })
	}))
}
