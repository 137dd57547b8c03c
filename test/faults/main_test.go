package faults

import (
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
	os.Exit(testharness.RunTests(m, &cp))
}
