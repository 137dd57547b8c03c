package operator

import (
	"context"
	"net/http"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// startupRelease returns to the operating system, once, the memory the
// start-up left free: the first LIST of every ScimUser is decoded into
// objects the informer keeps and into as much again that it drops, the
// controllers' first pass over every user allocates more, and the collector
// lets the heap grow to twice its live size meanwhile. Go's
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

// The controllers' first pass over every cached object follows the sync and
// allocates as much again: the release waits until a settleWindow allocates
// under settleAlloc, for at most settleLimit.
const (
	settleWindow = 500 * time.Millisecond
	settleAlloc  = 2 << 20
	settleLimit  = time.Minute
)

// Start waits until the caches synced, the SCIM server serves and the
// controllers' first pass is over, then collects garbage and returns the
// freed memory to the operating system.
func (r *startupRelease) Start(ctx context.Context) error {
	if !r.cache.WaitForCacheSync(ctx) {
		return nil
	}
	for r.ready != nil && r.ready(&http.Request{}) != nil {
		if !sleep(ctx, readyPoll) {
			return nil
		}
	}
	if !settled(ctx, heapAllocs) {
		return nil
	}
	began := time.Now()
	debug.FreeOSMemory()
	r.log.V(1).Info("returned the start-up's free memory to the operating system", "took", time.Since(began))
	return nil
}

// settled waits until allocs (bytes allocated since the process started)
// grows by less than settleAlloc in a settleWindow, or settleLimit passed;
// false when ctx ended first.
func settled(ctx context.Context, allocs func() uint64) bool {
	deadline := time.Now().Add(settleLimit)
	prev := allocs()
	for time.Now().Before(deadline) {
		if !sleep(ctx, settleWindow) {
			return false
		}
		cur := allocs()
		if cur-prev < settleAlloc {
			return true
		}
		prev = cur
	}
	return true
}

// heapAllocs is the bytes the process allocated on the heap since it started.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// NeedLeaderElection is false: every replica fills its cache.
func (r *startupRelease) NeedLeaderElection() bool { return false }
