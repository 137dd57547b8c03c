package controlplane

import (
	"fmt"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/kube"
)

// Scheme returns a scheme with the built-in kinds and the scim-operator API.
func Scheme() *runtime.Scheme { return kube.Scheme() }

// Client returns an uncached client for the control plane.
func (c *ControlPlane) Client() (client.Client, error) {
	return client.New(c.Config, client.Options{Scheme: Scheme()})
}

// RunTests is the body of a package's TestMain: it starts one control plane for
// the package, stores it in *cp, runs the tests and stops it. Starting once per
// package keeps suites fast; tests isolate themselves by namespace.
func RunTests(m *testing.M, cp **ControlPlane) int {
	started, err := Start(Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, "control plane:", err)
		return 1
	}
	*cp = started
	code := m.Run()
	if err := started.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping control plane:", err)
	}
	return code
}
