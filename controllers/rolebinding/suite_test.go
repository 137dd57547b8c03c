package rolebinding_test

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
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// The suite runs one control plane and one manager with the shared indexes
// and the RBAC projection only (bindings and entitlements): no SCIM server,
// no other reconciler. Tests seed ScimEndpoints, ScimUsers, ScimGroups,
// ScimMemberships and ScimEntitlements with the client, each in its own
// namespace. Scenarios through the SCIM server live in test/rbac.
var k8s client.Client // uncached: what a test reads is what the API server holds

// settle bounds every wait for the reconciler; it only keeps a broken test
// from hanging.
const settle = 30 * time.Second

func TestMain(m *testing.M) {
	logs := io.Discard
	if os.Getenv("SCIM_TEST_LOG") != "" {
		logs = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))
	os.Exit(testharness.WithControlPlane(func(cp *controlplane.ControlPlane) int {
		var err error
		if k8s, err = cp.Client(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		stop, err := startManager(cp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the manager:", err)
			return 1
		}
		defer stop()
		return m.Run()
	}))
}

// startManager wires the rolebinding Reconciler as internal/operator's
// addControllers does (default allow-list, a deprovisioning guard, an event
// recorder; no lag metric) and starts the manager.
func startManager(cp *controlplane.ControlPlane) (stop func(), err error) {
	allowed, err := rolebinding.ParseAllowList(rolebinding.DefaultAllowedRoles)
	if err != nil {
		return nil, err
	}
	_, stop, err = testharness.StartManager(cp, func(mgr manager.Manager) error {
		guard := &deprovision.Guard{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("scim-operator"),
			Users:    deprovision.CachedUsers(mgr.GetClient()),
		}
		return (&rolebinding.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("scim-operator"), AllowedRoles: allowed, Guard: guard,
		}).SetupWithManager(mgr)
	})
	return stop, err
}
