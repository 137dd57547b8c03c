package tenantapp_test

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

// The suite runs one control plane and one PostgreSQL server; each test starts
// a manager with the shared indexes and the TenantApp reconciler only
// (startReconciler), with its own client factory, and seeds ScimEndpoints,
// ScimUsers, ScimGroups and ScimMemberships with the client in its own
// namespace and database. Scenarios through the SCIM server live in
// test/tenantdb.
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
