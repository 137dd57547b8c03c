package operator

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
)

// The release waits for the SCIM server to serve before it collects: its
// start-up allocates too. A cache that never syncs ends it without a release.
func TestStartupReleaseWaitsForReadiness(t *testing.T) {
	for _, tc := range []struct {
		reason    string
		synced    bool
		failFirst int
		wantAsks  int
	}{
		{reason: "ready at once", synced: true, failFirst: 0, wantAsks: 1},
		{reason: "ready after three polls", synced: true, failFirst: 3, wantAsks: 4},
		{reason: "cache never synced: readiness is not asked", synced: false, failFirst: 0, wantAsks: 0},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			asks := 0
			r := &startupRelease{
				cache: &informertest.FakeInformers{Synced: &tc.synced},
				ready: func(*http.Request) error {
					asks++
					if asks <= tc.failFirst {
						return errors.New("not serving yet")
					}
					return nil
				},
				log: logr.Discard(),
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Start(ctx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if ctx.Err() != nil {
				t.Fatal("Start returned only when the context ended")
			}
			if asks != tc.wantAsks {
				t.Errorf("readiness asked %d times, want %d", asks, tc.wantAsks)
			}
		})
	}
}

// The release waits out the controllers' first pass: it goes on while a
// window allocates settleAlloc or more.
func TestSettledWaitsForQuietAllocation(t *testing.T) {
	calls, total := 0, uint64(0)
	allocs := func() uint64 {
		calls++
		if calls <= 3 { // the first reading and two busy windows
			total += 10 * settleAlloc
		} else {
			total += settleAlloc / 4
		}
		return total
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !settled(ctx, allocs) {
		t.Fatal("settled returned false before its context ended")
	}
	if calls != 4 {
		t.Errorf("allocations read %d times, want 4 (settled after the first quiet window)", calls)
	}
}

// After the start-up's release it looks again every period and releases
// only when enough is held and the process is quiet.
func TestLaterReleasesNeedHeldMemory(t *testing.T) {
	synced := true
	held := []uint64{0, releaseMin / 2, releaseMin, 0, 2 * releaseMin}
	var released []uint64
	i := 0
	r := &startupRelease{
		cache: &informertest.FakeInformers{Synced: &synced},
		log:   logr.Discard(),
		every: time.Millisecond,
		free: func() uint64 {
			v := held[min(i, len(held)-1)]
			i++
			return v
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.release = func() {
		released = append(released, held[i-1])
		if i >= len(held) {
			cancel()
		}
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The first release whatever is held, then only the looks finding
	// releaseMin or more (this test allocates little: it is quiet).
	want := []uint64{0, releaseMin, 2 * releaseMin}
	if !slices.Equal(released, want) {
		t.Errorf("released with %v held, want %v", released, want)
	}
}
