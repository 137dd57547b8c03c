package access_test

import (
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// The suite runs one control plane and one manager with the RBAC
// projection only, as the rolebinding suite does: tests seed endpoints,
// users, groups, bindings and TenantApps with the client, wait for the
// operator's RoleBindings, and ask the Inspector (and once the built
// plugin) what it sees. No TenantApp reconciler runs: the plugin reads
// TenantApps' spec and status, never their databases.
var (
	cp  *controlplane.ControlPlane
	k8s client.Client // uncached: what a test reads is what the API server holds
)

// settle bounds every wait for the reconciler; it only keeps a broken test
// from hanging.
const settle = 30 * time.Second

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	os.Exit(testharness.WithControlPlane(func(c *controlplane.ControlPlane) int {
		cp = c
		var err error
		if k8s, err = cp.Client(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		allowed, err := rolebinding.ParseAllowList(rolebinding.DefaultAllowedRoles)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_, stop, err := testharness.StartManager(cp, func(mgr manager.Manager) error {
			return (&rolebinding.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
				Recorder: mgr.GetEventRecorder("scim-operator"), AllowedRoles: allowed}).SetupWithManager(mgr)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the manager:", err)
			return 1
		}
		defer stop()
		return m.Run()
	}))
}
