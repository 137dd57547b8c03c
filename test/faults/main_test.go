package faults

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// cp is the control plane TestHostileInput and TestTokenRotation share; each
// isolates itself in namespaces of its own. TestAPIServerOutage starts a
// control plane of its own, because it stops the API server.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	if kubeconfig := os.Getenv(childKubeconfigEnv); kubeconfig != "" {
		// Re-executed by startOperatorProcess: be the operator, not the tests.
		os.Exit(runOperatorChild(kubeconfig, os.Getenv(childLeaseEnv)))
	}
	ctrllog.SetLogger(logr.Discard())
	os.Exit(controlplane.RunTests(m, &cp))
}

// uniqueName returns prefix plus a random suffix, so that tests run more
// than once against one control plane (-count) never meet their own leftovers.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// startOperator starts an operator on c and stops it when the test ends.
func startOperator(t *testing.T, c *controlplane.ControlPlane) *testharness.Operator {
	t.Helper()
	op, err := testharness.StartOperator(c, false)
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
