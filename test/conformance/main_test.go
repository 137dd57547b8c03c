package conformance

import (
	"fmt"
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// op is the operator every test of the package talks to. Tests isolate
// themselves by creating their own namespace and ScimEndpoint.
var op *testharness.Operator

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run starts one control plane and one operator for the package, runs the
// tests and stops both.
func run(m *testing.M) int {
	cp, err := controlplane.Start(controlplane.Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, "control plane:", err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping control plane:", err)
		}
	}()
	op, err = testharness.StartOperator(cp, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		return 1
	}
	defer func() {
		if err := op.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping operator:", err)
		}
	}()
	return m.Run()
}
