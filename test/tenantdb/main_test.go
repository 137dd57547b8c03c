package tenantdb_test

import (
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// cp and pg are the control plane and PostgreSQL server every test of the
// package shares; each test works in its own namespace and database.
var (
	cp *controlplane.ControlPlane
	pg *localpg.Server
)

func TestMain(m *testing.M) { os.Exit(testharness.RunTestsWithPostgres(m, &cp, &pg)) }
