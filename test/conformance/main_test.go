package conformance

import (
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// op is the operator every test of the package talks to. Tests isolate
// themselves by creating their own namespace and ScimEndpoint.
var op *testharness.Operator

// TestMain starts one control plane and one operator for the package, runs
// the tests and stops both.
func TestMain(m *testing.M) { os.Exit(testharness.RunTestsWithOperator(m, &op)) }
