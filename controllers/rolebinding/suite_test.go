package rolebinding_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/scimstore"
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
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme:                 controlplane.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, err
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	allowed, err := rolebinding.ParseAllowList(rolebinding.DefaultAllowedRoles)
	if err != nil {
		return nil, err
	}
	guard := &deprovision.Guard{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("scim-operator"),
		Users:    endpointUsers(mgr.GetClient()),
	}
	if err := (&rolebinding.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("scim-operator"), AllowedRoles: allowed, Guard: guard,
	}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if !mgr.GetCache().WaitForCacheSync(wctx) {
		cancel()
		return nil, fmt.Errorf("the manager's cache did not sync: %v", <-done)
	}
	return func() { cancel(); <-done }, nil
}

// endpointUsers lists an endpoint's users from the cache, for the guard's
// baseline, as internal/operator's endpointUsers does.
func endpointUsers(c client.Client) func(context.Context, types.NamespacedName) ([]*scimv1.ScimUser, error) {
	return func(ctx context.Context, ep types.NamespacedName) ([]*scimv1.ScimUser, error) {
		var list scimv1.ScimUserList
		if err := c.List(ctx, &list, client.InNamespace(ep.Namespace),
			client.MatchingFields{scimstore.IndexUserEndpoint: ep.Name}); err != nil {
			return nil, err
		}
		out := make([]*scimv1.ScimUser, len(list.Items))
		for i := range list.Items {
			out[i] = &list.Items[i]
		}
		return out, nil
	}
}
