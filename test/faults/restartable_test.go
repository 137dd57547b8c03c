package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// restartable is a control plane whose kube-apiserver can be stopped and
// started again while etcd keeps running with the data.
//
// envtest's APIServer has Stop and Start, and a restart keeps the secure
// port. Its certificates survive only in a CertDir the caller owns: in a
// directory envtest created itself, Stop deletes them and Start makes a new
// serving CA, which every client configured before the restart (the
// operator's manager included) would then refuse. internal/controlplane
// keeps its envtest.Environment private, so this suite builds its own the
// same way, with the CRDs of config/crd/bases.
type restartable struct {
	env *envtest.Environment
	// cp wraps the admin configuration for testharness. Only Config is set:
	// its Stop and KubeConfig must not be called (restartable.stop is).
	cp *controlplane.ControlPlane
}

// stopGrace is how long kube-apiserver may shut down gracefully before it is killed.
const stopGrace = 10 * time.Second

// startRestartable starts etcd and kube-apiserver and stops them when the
// test ends.
func startRestartable(t *testing.T) *restartable {
	t.Helper()
	if err := controlplane.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    controlplane.AssetsDir(),
		CRDDirectoryPaths:        []string{filepath.Join(controlplane.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		AttachControlPlaneOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != "",
		ControlPlaneStartTimeout: 60 * time.Second,
		// kube-apiserver drains for up to a minute while clients hold
		// watches open; after this long Stop kills it (SIGKILL).
		ControlPlaneStopTimeout: stopGrace,
	}
	env.ControlPlane.APIServer = &envtest.APIServer{CertDir: t.TempDir()}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		t.Fatalf("starting a restartable control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	controlplane.Tune(cfg)
	return &restartable{env: env, cp: &controlplane.ControlPlane{Config: cfg}}
}

// stopAPIServer stops kube-apiserver: SIGTERM, and SIGKILL when it has not
// exited after stopGrace (envtest then reports a timeout, which is no
// failure here: either way the API server is gone). It reports whether the
// process had to be killed.
func (r *restartable) stopAPIServer() (killed bool, err error) {
	err = r.env.ControlPlane.APIServer.Stop()
	if err != nil && strings.Contains(err.Error(), "timeout waiting for process kube-apiserver to stop") {
		return true, nil
	}
	return false, err
}

// startAPIServer starts kube-apiserver again on the same port, with the same
// certificates, and waits until it reports healthy.
func (r *restartable) startAPIServer() error { return r.env.ControlPlane.APIServer.Start() }
