package tenantapp_test

import (
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
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

func TestMain(m *testing.M) { os.Exit(testharness.RunTestsWithPostgres(m, &cp, &pg)) }
