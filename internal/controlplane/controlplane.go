// Package controlplane starts the real kube-apiserver and etcd that the tests,
// the benchmarks and the local mode (`make dev`) run against, with the project's
// CRDs installed. It wraps controller-runtime's envtest with the binaries that
// hack/controlplane.sh builds from the Go module proxy into bin/k8s.
package controlplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scim-operator/scim-operator/internal/childproc"
	"github.com/scim-operator/scim-operator/internal/kube"
)

// Versions of the control plane binaries; hack/controlplane.sh builds the same ones.
const (
	KubernetesVersion = "1.37.2"
	EtcdVersion       = "3.6.16"
)

// ErrBinariesMissing is returned when kube-apiserver, etcd or kubectl are not built yet.
var ErrBinariesMissing = errors.New("control plane binaries not found: run `make controlplane` (or hack/controlplane.sh) to build them")

// RepoRoot returns the repository root, found from this source file's location,
// so tests in any package find bin/ and config/ without a working-directory convention.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir returns the folder holding kube-apiserver, etcd and kubectl:
// $KUBEBUILDER_ASSETS when set, else bin/k8s/<k8s>-<etcd> in the repository.
func AssetsDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), "bin", "k8s", KubernetesVersion+"-"+EtcdVersion)
}

// Kubectl returns the path of the built kubectl.
func Kubectl() string { return filepath.Join(AssetsDir(), "kubectl") }

// CheckBinaries returns ErrBinariesMissing (wrapped with the missing path) when a
// binary is absent, so callers can print a clear error instead of a stack trace.
func CheckBinaries() error {
	for _, name := range []string{"kube-apiserver", "etcd", "kubectl"} {
		p := filepath.Join(AssetsDir(), name)
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%w (missing %s)", ErrBinariesMissing, p)
		}
	}
	return nil
}

// ControlPlane is a running kube-apiserver + etcd, by default with the CRDs installed.
type ControlPlane struct {
	env *envtest.Environment
	// parent is the thread that forked etcd and kube-apiserver; wrappers
	// holds the scripts that give them their parent death signal.
	parent   *childproc.Parent
	wrappers string
	// Config is an admin client configuration, tuned so client-side throttling
	// never limits the SCIM server (API Priority and Fairness does that job).
	Config *rest.Config
}

// Options configures Start.
type Options struct {
	// AttachOutput copies the control plane's logs to stdout/stderr.
	AttachOutput bool
	// StartTimeout bounds the start of each component; default 60 s.
	StartTimeout time.Duration
	// APIServerFlags are kube-apiserver flags set on top of envtest's defaults,
	// by name without the leading dashes (e.g. "authentication-config"); a flag
	// named here replaces envtest's value. Nil keeps the defaults every test uses.
	APIServerFlags map[string][]string
	// WithoutCRDs starts an API server that serves none of the project's
	// CRDs, like a cluster scim-operator was never installed on: the chart's
	// install path is tested against it.
	WithoutCRDs bool
}

// Start starts etcd and kube-apiserver and installs the CRDs from
// config/crd/bases, unless opts.WithoutCRDs.
func Start(opts Options) (*ControlPlane, error) {
	if err := CheckBinaries(); err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    AssetsDir(),
		AttachControlPlaneOutput: opts.AttachOutput,
		ControlPlaneStartTimeout: opts.StartTimeout,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if !opts.WithoutCRDs {
		env.CRDDirectoryPaths = []string{filepath.Join(RepoRoot(), "config", "crd", "bases")}
		env.ErrorIfCRDPathMissing = true
	}
	args := env.ControlPlane.GetAPIServer().Configure()
	for name, values := range opts.APIServerFlags {
		args.Set(name, values...)
	}
	c := &ControlPlane{env: env, parent: childproc.NewParent()}
	if err := c.dieWithParent(); err != nil {
		c.release()
		return nil, err
	}
	// envtest forks both children from the goroutine that calls Start; run
	// it on the parent thread, which lives until Stop.
	var err error
	c.parent.Do(func() { c.Config, err = env.Start() })
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	Tune(c.Config)
	return c, nil
}

// dieWithParent points envtest at wrappers of etcd and kube-apiserver that
// are SIGKILLed when this process dies, so a killed test binary leaves no
// control plane behind (see internal/childproc).
func (c *ControlPlane) dieWithParent() error {
	dir, err := os.MkdirTemp("", "scim-controlplane-")
	if err != nil {
		return fmt.Errorf("creating the wrapper directory: %w", err)
	}
	c.wrappers = dir
	if c.env.ControlPlane.Etcd == nil {
		c.env.ControlPlane.Etcd = &envtest.Etcd{}
	}
	for name, path := range map[string]*string{
		"etcd":           &c.env.ControlPlane.Etcd.Path,
		"kube-apiserver": &c.env.ControlPlane.GetAPIServer().Path,
	} {
		if *path, _, err = childproc.Wrap(dir, filepath.Join(AssetsDir(), name), syscall.SIGKILL); err != nil {
			return err
		}
	}
	return nil
}

// release gives up the parent thread and the wrappers.
func (c *ControlPlane) release() {
	c.parent.Close()
	if c.wrappers != "" {
		_ = os.RemoveAll(c.wrappers)
	}
}

// Tune raises client-go's client-side rate limit; see kube.Tune.
func Tune(cfg *rest.Config) { kube.Tune(cfg) }

// KubeConfig returns a kubeconfig for a cluster-admin user of this control plane.
func (c *ControlPlane) KubeConfig() ([]byte, error) {
	user, err := c.env.AddUser(envtest.User{Name: "scim-operator-dev", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding an admin user: %w", err)
	}
	return user.KubeConfig()
}

// Stop stops kube-apiserver and etcd and removes their temporary data.
func (c *ControlPlane) Stop() error {
	err := c.env.Stop()
	c.release()
	return err
}
