package testharness

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// StartManager starts what a controller's own suite runs: a manager on cp
// with the project's scheme, no metrics or probe listeners, the shared cache
// indexes (scimstore.RegisterIndexes) and whatever setup adds to it (the
// suite's reconciler), and waits until its cache has synced. stop ends it.
func StartManager(cp *controlplane.ControlPlane, setup func(manager.Manager) error) (mgr manager.Manager, stop func(), err error) {
	mgr, err = ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme:                 controlplane.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, nil, err
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, nil, err
	}
	if err := setup(mgr); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if !mgr.GetCache().WaitForCacheSync(wctx) {
		cancel()
		return nil, nil, fmt.Errorf("the manager's cache did not sync: %v", <-done)
	}
	return mgr, func() { cancel(); <-done }, nil
}
