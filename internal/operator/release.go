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

// startupRelease returns to the operating system the memory the start-up
// left free, and later what a burst left free once the process is quiet: the first LIST of every ScimUser is decoded into
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
	// every, when positive, is how often it looks again after the first
	// release; release and free replace debug.FreeOSMemory and heapFree
	// in tests.
	every   time.Duration
	release func()
	free    func() uint64
}

// readyPoll is how often startupRelease asks whether the SCIM server serves.
const readyPoll = 100 * time.Millisecond

// releaseEvery is how often the operator looks for free memory to return
// after the start-up's release.
const releaseEvery = 30 * time.Second

// The controllers' first pass over every cached object follows the sync and
// allocates as much again: the release waits until a settleWindow allocates
// under settleAlloc, for at most settleLimit.
const (
	settleWindow = 500 * time.Millisecond
	settleAlloc  = 2 << 20
	settleLimit  = time.Minute
)

// releaseMin is the free heap memory, not yet returned to the operating
// system, that a later release waits for: below it a forced collection
// costs more than the memory it returns.
const releaseMin = 32 << 20

// Start waits until the caches synced, the SCIM server serves and the
// controllers' first pass is over, then collects garbage and returns the
// freed memory to the operating system. With every set it goes on: each
// period, once the process is quiet again, it releases when releaseMin or
// more of the heap is free and still held (a controller's pass over every
// user after a quiet start, a burst of provisioning).
func (r *startupRelease) Start(ctx context.Context) error {
	if !r.cache.WaitForCacheSync(ctx) {
		return nil
	}
	for r.ready != nil && r.ready(&http.Request{}) != nil {
		if !sleep(ctx, readyPoll) {
			return nil
		}
	}
	release, free := r.release, r.free
	if release == nil {
		release = debug.FreeOSMemory
	}
	if free == nil {
		free = heapFree
	}
	if !settled(ctx, heapAllocs) {
		return nil
	}
	for first := true; ; first = false {
		// After the first, only a quiet process releases: a busy one
		// would fault the pages straight back in.
		if held := free(); first || held >= releaseMin && quiet(ctx, heapAllocs) {
			began := time.Now()
			release()
			r.log.V(1).Info("returned free memory to the operating system", "held", held, "took", time.Since(began))
		}
		if r.every <= 0 || !sleep(ctx, r.every) {
			return nil
		}
	}
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

// quiet reports whether allocs grows by less than settleAlloc in one
// settleWindow (false as well when ctx ends).
func quiet(ctx context.Context, allocs func() uint64) bool {
	before := allocs()
	return sleep(ctx, settleWindow) && allocs()-before < settleAlloc
}

// heapFree is the heap memory a release would return: what the heap holds
// (objects, garbage included, and free or unused spans) beyond the live
// heap of the last collection, or 0 while that is under a quarter of the
// live heap (the collector would reuse it soon; a forced collection of a
// large heap is not free either).
func heapFree() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	var v [4]uint64
	for i := range s {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		v[i] = s[i].Value.Uint64()
	}
	held, live := v[0]+v[1]+v[2], v[3]
	if held < live || held-live < live/4 {
		return 0
	}
	return held - live
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
