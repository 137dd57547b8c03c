package operator

import (
	"context"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// startupRelease returns to the operating system, once, the memory the
// start-up left free: the first LIST of every ScimUser is decoded into
// objects the informer keeps and into as much again that it drops, and the
// collector lets the heap grow to twice its live size meanwhile. Go's
// background scavenger keeps memory up to that heap goal, so without this
// the process holds two to three times its live heap for as long as it runs
// (docs/install.md#memory).
type startupRelease struct {
	cache cache.Cache
	// ready, when set, is the SCIM server's readiness: its start-up
	// (following the informers, loading the endpoints) allocates too.
	ready healthz.Checker
	log   logr.Logger
}

// readyPoll is how often startupRelease asks whether the SCIM server serves.
const readyPoll = 100 * time.Millisecond

// Start waits until the caches synced (and the SCIM server serves), then
// collects garbage and returns the freed memory to the operating system.
func (r *startupRelease) Start(ctx context.Context) error {
	if !r.cache.WaitForCacheSync(ctx) {
		return nil
	}
	for r.ready != nil && r.ready(&http.Request{}) != nil {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(readyPoll):
		}
	}
	began := time.Now()
	debug.FreeOSMemory()
	r.log.V(1).Info("returned the start-up's free memory to the operating system", "took", time.Since(began))
	return nil
}

// NeedLeaderElection is false: every replica fills its cache.
func (r *startupRelease) NeedLeaderElection() bool { return false }
