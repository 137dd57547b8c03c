package scimstore

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func userAt(name string, rv uint64) *scimv1.ScimUser {
	return &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: strconv.FormatUint(rv, 10)}}
}

// Every waiter whose resourceVersion the stream delivers is woken, however
// the deliveries interleave with the waiters parking; none is woken early.
func TestStreamWakesEveryWaiter(t *testing.T) {
	const writes = 2000
	s := newStream("user-", 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]bool, writes)
	for i := range writes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			want := uint64(i + 1)
			results[i] = s.await(ctx, want, time.Minute)
			if seen := s.seen.Load(); seen < want {
				t.Errorf("waiter for %d woken at %d", want, seen)
			}
		}(i)
	}
	for i := range writes {
		s.observe(userAt("u"+strconv.Itoa(i), uint64(i+1)), false)
	}
	wg.Wait()
	for i, ok := range results {
		if !ok {
			t.Fatalf("waiter for %d gave up", i+1)
		}
	}
}

// A waiter for a resourceVersion the stream never delivers returns false
// when its time is up, and when its context ends.
func TestStreamAwaitGivesUp(t *testing.T) {
	s := newStream("", 0)
	s.observe(userAt("a", 10), false)
	if !s.await(context.Background(), 10, time.Millisecond) {
		t.Fatal("a delivered resourceVersion was not reached")
	}
	if s.await(context.Background(), 11, 20*time.Millisecond) {
		t.Fatal("an undelivered resourceVersion was reached")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s.await(ctx, 11, time.Minute) {
		t.Fatal("a cancelled wait reported success")
	}
	// The waiters that gave up leave the heap once the stream passes them.
	s.observe(userAt("c", 11), false)
	if n := len(s.waiters); n != 0 || s.waiting.Load() != 0 {
		t.Fatalf("%d waiters left after the stream passed them (waiting %d)", n, s.waiting.Load())
	}
	// An older delivery (a relist replays objects in name order) never
	// moves the stream back.
	s.observe(userAt("b", 4), false)
	if got := s.seen.Load(); got != 11 {
		t.Fatalf("seen = %d after an older delivery, want 11", got)
	}
}

// Only the derived names of the stream's prefix are retired when deleted.
func TestStreamRetiresDerivedNames(t *testing.T) {
	s := newStream("user-", 0)
	s.observe(userAt("user-abc", 1), true)
	s.observe(userAt("8c1e0f4a", 2), true)
	s.observe(userAt("user-def", 3), false)
	if !s.isRetired("ns", "user-abc") || s.isRetired("ns", "8c1e0f4a") || s.isRetired("ns", "user-def") {
		t.Fatalf("retired = %v", s.retired)
	}
	shards := newStream("", 0)
	shards.observe(userAt("user-abc", 1), true)
	if shards.isRetired("ns", "user-abc") {
		t.Fatal("a stream without a prefix retired a name")
	}
}

// A retired name is forgotten once the TTL has passed since its deletion
// (the stream holds one TTL of deletions, not the replica's history), unless
// it was deleted again since.
func TestStreamForgetsRetiredNamesAfterTTL(t *testing.T) {
	s := newStream("user-", time.Minute)
	t0 := time.Now()
	s.retire("ns/user-a", t0)
	s.retire("ns/user-b", t0.Add(10*time.Second))
	s.retire("ns/user-b", t0.Add(50*time.Second)) // deleted again
	s.retire("ns/user-c", t0.Add(65*time.Second))
	if _, ok := s.retired["ns/user-a"]; ok {
		t.Errorf("user-a, deleted more than a TTL before the last deletion, is still held")
	}
	if _, ok := s.retired["ns/user-b"]; !ok {
		t.Errorf("user-b, deleted again within the TTL, was forgotten")
	}
	if len(s.retired) != 2 || len(s.expiries) != 3 {
		t.Errorf("%d retired names and %d expiries held, want 2 and 3 (one TTL of deletions): %v", len(s.retired), len(s.expiries), s.retired)
	}
	forever := newStream("user-", 0)
	forever.retire("ns/user-a", t0.Add(-time.Hour))
	forever.retire("ns/user-b", t0)
	if !forever.isRetired("ns", "user-a") || len(forever.expiries) != 0 {
		t.Errorf("a stream without a TTL forgot a retired name")
	}
}
