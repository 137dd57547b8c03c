package scimstore

import (
	"container/heap"
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
//     check of a new resource against the cache (unique.go) wait on it.
//   - for ScimUsers and ScimGroups, which derived names were deleted since
//     the replica started: those ids are retired (their tombstone claims were
//     written before the delete, but the claim cache is not ordered with
//     this stream). Like the tombstones, a deletion is forgotten once the
//     tombstone TTL has passed (tombstones.go).
//
// Tombstones of deletions before the replica started are in the claim
// cache, which starts after the handler is registered (at the first create),
// so every deletion is in one of the two.
type stream struct {
	prefix  string // the derived names whose deletion retires them; "" for none
	seen    atomic.Uint64
	waiting atomic.Int32 // len(waiters), for observe to skip the lock

	mu      sync.Mutex
	waiters waiterHeap           // parked awaits, the lowest resourceVersion first
	retired map[string]time.Time // namespace/name → when the replica saw it deleted
	// expiries lists the retired names in the order they were recorded,
	// for forgetting them after ttl (0: never).
	expiries []expiry
	ttl      time.Duration

	// names, for ScimUsers and ScimGroups, keeps the live names of each
	// endpoint in order (order.go); endpointOf gives an object's endpoint.
	names      *order
	endpointOf func(client.Object) string
	// ordered, for ScimUsers and ScimGroups, keeps the orderings sorted
	// listings asked for (ordered.go) in order.
	ordered interface{ reorder(old, obj any) }
	// synced reports whether the informer's replay of the objects it held
	// when the handler was added has been delivered.
	synced func() bool
}

// A waiter is a parked await: its channel is closed once the stream has seen
// want. Only the waiters whose resourceVersion arrived are woken, so 64
// concurrent writes waiting on one busy stream cost nothing per event.
type waiter struct {
	want uint64
	wake chan struct{}
}

type waiterHeap []waiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].want < h[j].want }
func (h waiterHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *waiterHeap) Push(x any)        { *h = append(*h, x.(waiter)) }
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// An expiry is a retired name and when it was recorded.
type expiry struct {
	key string
	at  time.Time
}

// newStream returns a stream; prefix names the derived names ("user-",
// "group-") it records as retired when deleted, or "" for none, and ttl how
// long it remembers them (0: for the replica's life).
func newStream(prefix string, ttl time.Duration) *stream {
	return &stream{prefix: prefix, ttl: ttl, retired: map[string]time.Time{}}
}

// register adds the stream's handler to the kind's informer; the informer
// replays the objects it holds to it.
func (s *stream) register(ctx context.Context, informers cache.Informers, obj client.Object) error {
	inf, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			s.reorder(nil, o)
			s.observe(o, false)
		},
		UpdateFunc: func(old, o any) {
			s.reorder(old, o)
			obj, ok := o.(client.Object)
			s.observe(o, ok && obj.GetDeletionTimestamp() != nil)
		},
		DeleteFunc: func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			s.reorder(o, nil)
			s.observe(o, true)
		},
	})
	if err != nil {
		return err
	}
	s.synced = reg.HasSynced
	return nil
}

// reorder moves an object in the stream's orderings, before observe
// advances the stream: once a writer's wait ends, the orderings hold its
// write.
func (s *stream) reorder(old, obj any) {
	if s.ordered != nil {
		s.ordered.reorder(old, obj)
	}
}

func (s *stream) observe(o any, deleted bool) {
	obj, ok := o.(client.Object)
	if !ok {
		return
	}
	if s.names != nil {
		live := !deleted && obj.GetDeletionTimestamp() == nil
		s.names.set(obj.GetNamespace()+"/"+s.endpointOf(obj), obj.GetName(), live)
	}
	if deleted && s.prefix != "" && strings.HasPrefix(obj.GetName(), s.prefix) {
		s.retire(obj.GetNamespace()+"/"+obj.GetName(), time.Now())
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
	// seen is stored before waiting is read, and await stores waiting
	// before it reads seen: one of the two always sees the other.
	if s.waiting.Load() > 0 {
		s.mu.Lock()
		for len(s.waiters) > 0 && s.waiters[0].want <= rv {
			close(heap.Pop(&s.waiters).(waiter).wake)
		}
		s.waiting.Store(int32(len(s.waiters)))
		s.mu.Unlock()
	}
}

// await waits until the stream has seen resourceVersion want, for at most
// timeout or until ctx ends; false when it has not. A waiter that gives up
// stays in the heap until the stream passes it: closing its channel then
// costs nothing, and it saves finding it.
func (s *stream) await(ctx context.Context, want uint64, timeout time.Duration) bool {
	if s.seen.Load() >= want {
		return true
	}
	w := waiter{want: want, wake: make(chan struct{})}
	s.mu.Lock()
	heap.Push(&s.waiters, w)
	s.waiting.Store(int32(len(s.waiters)))
	s.mu.Unlock()
	if s.seen.Load() >= want {
		return true
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.wake:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return s.seen.Load() >= want
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

// retire records that key was deleted at now, and forgets the deletions
// older than the TTL: the stream holds the deletions of one TTL, not of the
// replica's life.
func (s *stream) retire(key string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired[key] = now
	if s.ttl <= 0 {
		return
	}
	s.expiries = append(s.expiries, expiry{key: key, at: now})
	n := 0
	for ; n < len(s.expiries) && now.Sub(s.expiries[n].at) > s.ttl; n++ {
		// A name deleted again since keeps its newer time.
		if e := s.expiries[n]; s.retired[e.key].Equal(e.at) {
			delete(s.retired, e.key)
		}
	}
	clear(s.expiries[:n])
	s.expiries = s.expiries[n:]
}

// isRetired reports whether the replica saw namespace/name deleted within
// the TTL.
func (s *stream) isRetired(namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.retired[namespace+"/"+name]
	return ok && (s.ttl <= 0 || time.Since(at) <= s.ttl)
}
