package scimserver

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// stream follows the ScimUsers (or ScimGroups) a replica's informer delivers,
// in the API server's order, for createUnique's check of a new resource
// against its cache instead of one more API read (see store_unique.go):
//
//   - how far the informer's handlers have got (the newest resourceVersion
//     seen), so a create can wait until its own object has been delivered,
//     and with it every write of the kind before it;
//   - which derived names were deleted since the replica started: those
//     ids are retired (their tombstone claims were written before the
//     delete, but the claim cache is not ordered with this stream).
//
// Tombstones of deletions before the replica started are in the claim
// cache, which starts after the handler is registered (at the first create),
// so every deletion is in one of the two.
type stream struct {
	kind    string // "User" or "Group"
	seen    atomic.Uint64
	mu      sync.Mutex
	retired map[string]bool // namespace/name
}

func newStream(kind string) *stream { return &stream{kind: kind, retired: map[string]bool{}} }

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
	if deleted && strings.HasPrefix(obj.GetName(), strings.ToLower(s.kind)+"-") {
		s.mu.Lock()
		s.retired[obj.GetNamespace()+"/"+obj.GetName()] = true
		s.mu.Unlock()
	}
	if rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64); err == nil {
		for {
			cur := s.seen.Load()
			if rv <= cur || s.seen.CompareAndSwap(cur, rv) {
				break
			}
		}
	}
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
	err = wait.PollUntilContextTimeout(ctx, time.Millisecond, streamPatience, true, func(context.Context) (bool, error) {
		return s.seen.Load() >= want, nil
	})
	return err == nil
}

// isRetired reports whether the replica saw namespace/name deleted.
func (s *stream) isRetired(namespace, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retired[namespace+"/"+name]
}
