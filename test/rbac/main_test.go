package rbac_test

import (
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

var op *testharness.Operator

// TestMain starts one control plane and one whole operator (SCIM server and
// reconcilers) for the package; every test works in its own namespace.
func TestMain(m *testing.M) {
	os.Exit(testharness.RunTestsWithOperator(m, &op))
}
