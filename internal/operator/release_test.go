package operator

import (
	"context"
	"errors"
	"net/http"
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
