package rolebinding_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

var op *testharness.Operator

// TestMain starts one control plane and one whole operator (SCIM server and
// reconcilers) for the package; every test works in its own namespace.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	cp, err := controlplane.Start(controlplane.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	if op, err = testharness.StartOperator(cp, false); err != nil {
		fmt.Fprintln(os.Stderr, "starting the operator:", err)
		return 1
	}
	defer func() { _ = op.Stop() }()
	return m.Run()
}
