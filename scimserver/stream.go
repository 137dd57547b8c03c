package scimserver

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// stream follows the objects of one kind a replica's informer delivers, in
// the API server's order, so that a writer can wait for its own write to
// reach the cache by being told, not by polling the cache:
//
//   - how far the informer's handlers have got (the newest resourceVersion
//     seen). The informer updates its indexer before it calls the handlers,
//     so once the stream has seen a write, the cache holds it, and with it
//     every earlier write of the kind. waitForCache and createUnique's
//     check of a new resource against the cache (store_unique.go) wait on it.
//   - for ScimUsers and ScimGroups, which derived names were deleted since
//     the replica started: those ids are retired (their tombstone claims were
//     written before the delete, but the claim cache is not ordered with
//     this stream).
//
// Tombstones of deletions before the replica started are in the claim
// cache, which starts after the handler is registered (at the first create),
// so every deletion is in one of the two.
type stream struct {
	prefix  string // the derived names whose deletion retires them; "" for none
	seen    atomic.Uint64
	waiting atomic.Int32 // waiters parked on wake

	mu      sync.Mutex
	wake    chan struct{}   // closed when seen advances while someone waits
	retired map[string]bool // namespace/name
}

// newStream returns a stream; prefix names the derived names ("user-",
// "group-") it records as retired when deleted, or "" for none.
func newStream(prefix string) *stream { return &stream{prefix: prefix, retired: map[string]bool{}} }

// register adds the stream's handler to the kind's informer; the informer
// replays the objects it holds to it.
func (s *stream) register(ctx context.Context, informers cache.Informers, obj client.Object) error {
	inf, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { s.observe(o, false) },
		UpdateFunc: func(_, o any) {
			obj, ok := o.(client.Object)
			s.observe(o, ok && obj.GetDeletionTimestamp() != nil)
		},
		DeleteFunc: func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			s.observe(o, true)
		},
	})
	return err
}

func (s *stream) observe(o any, deleted bool) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	if deleted && s.prefix != "" && strings.HasPrefix(obj.GetName(), s.prefix) {
		s.mu.Lock()
		s.retired[obj.GetNamespace()+"/"+obj.GetName()] = true
		s.mu.Unlock()
	}
	rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	for {
		cur := s.seen.Load()
		if rv <= cur {
			return
		}
		if s.seen.CompareAndSwap(cur, rv) {
			break
		}
	}
	if s.waiting.Load() > 0 {
		s.mu.Lock()
		if s.wake != nil {
			close(s.wake)
			s.wake = nil
		}
		s.mu.Unlock()
	}
}

// next blocks until the stream has seen a resourceVersion above after, or
// until the timer fires or ctx ends; it returns what the stream has seen.
func (s *stream) next(ctx context.Context, after uint64, timer <-chan time.Time) (uint64, bool) {
	if seen := s.seen.Load(); seen > after {
		return seen, true
	}
	s.mu.Lock()
	if s.wake == nil {
		s.wake = make(chan struct{})
	}
	wake := s.wake
	s.mu.Unlock()
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	// An advance between the first look and registering as a waiter closed
	// no channel: look again before parking.
	if seen := s.seen.Load(); seen > after {
		return seen, true
	}
	select {
	case <-wake:
		return s.seen.Load(), true
	case <-timer:
	case <-ctx.Done():
	}
	return s.seen.Load(), false
}

// await waits until the stream has seen resourceVersion want, for at most
// timeout; false when it has not.
func (s *stream) await(ctx context.Context, want uint64, timeout time.Duration) bool {
	if s.seen.Load() >= want {
		return true
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for seen := s.seen.Load(); seen < want; {
		var ok bool
		if seen, ok = s.next(ctx, seen, timer.C); !ok {
			return seen >= want
		}
	}
	return true
}

// streamPatience bounds how long a create waits for its informer before it
// reads the API server instead. An informer normally delivers a write within
// milliseconds; one that lags by a second is catching up after an API server
// outage, and the create must not add a long wait to the cache wait that
// follows it.
const streamPatience = time.Second

// reached waits until the handler has seen resourceVersion rv, bounded by
// streamPatience; false when it has not.
func (s *stream) reached(ctx context.Context, rv string) bool {
	want, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return false
	}
	return s.await(ctx, want, streamPatience)
}

// isRetired reports whether the replica saw namespace/name deleted.
func (s *stream) isRetired(namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retired[namespace+"/"+name]
}
