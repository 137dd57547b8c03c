package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// Soak bounds. The soak runs SCIM_SOAK_DURATION (default 45s; `make soak`
// runs 10 minutes) of mixed Okta and Entra ID traffic at
// soakRate requests per second on each of three endpoints, each worker
// provisioning a user through its whole life and deleting it, so the stored
// state does not grow: what grows in the process is a leak.
const (
	soakRate          = 25
	soakWorkers       = 4 // per endpoint, sharing the endpoint's rate
	soakGoroutineSlop = 50
	soakHeapSlopBytes = 32 << 20
)

// TestSoak sends the traffic and checks that no request failed, and that the
// process's goroutines and live heap after the traffic are within the stated
// bounds of what they were after the warm-up (a tenth of the run).
func TestSoak(t *testing.T) {
	duration := 45 * time.Second
	if v := os.Getenv("SCIM_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SCIM_SOAK_DURATION: %v", err)
		}
		duration = d
	}
	op := testharness.RunOperator(t, cp, testharness.Options{})
	var eps []*testharness.Endpoint
	for i, name := range []string{"okta", "entra", "mixed"} {
		eps = append(eps, op.NewEndpoint(t, fmt.Sprintf("soak-%d-%d", time.Now().UnixNano()%1e6, i), name,
			func(e *scimv1.ScimEndpoint) { e.Spec.RateLimit = scimv1.RateLimit{RequestsPerSecond: 50, Burst: 100} }))
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var (
		sent, failed atomic.Int64
		mu           sync.Mutex
		failures     []string
		warm         soakSample
		warmOnce     sync.Once
	)
	fail := func(msg string) {
		failed.Add(1)
		mu.Lock()
		if len(failures) < 20 {
			failures = append(failures, msg)
		}
		mu.Unlock()
	}
	go func() {
		select {
		case <-time.After(duration / 10):
			warmOnce.Do(func() { warm = takeSoakSample() })
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for i, e := range eps {
		limit := rate.NewLimiter(soakRate, 1)
		for w := range soakWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := soakClient{e: e, limit: limit, sent: &sent, fail: fail, entra: i == 1 || (i == 2 && w%2 == 1)}
				for n := 0; ctx.Err() == nil; n++ {
					c.lifecycle(ctx, fmt.Sprintf("soak-%d-%d-%d@example.com", i, w, n))
				}
			}()
		}
	}
	wg.Wait()
	warmOnce.Do(func() { warm = takeSoakSample() }) // a run shorter than its warm-up
	time.Sleep(2 * time.Second)                     // idle connections and finished reconciles settle
	end := takeSoakSample()
	achieved := float64(sent.Load()) / duration.Seconds()
	t.Logf("%d requests in %s (%.1f/s over 3 endpoints, target %d/s); goroutines %d → %d; live heap %.1f → %.1f MiB",
		sent.Load(), duration, achieved, 3*soakRate, warm.goroutines, end.goroutines,
		float64(warm.heap)/(1<<20), float64(end.heap)/(1<<20))
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed; the first:\n%v", n, sent.Load(), failures)
	}
	if sent.Load() == 0 {
		t.Fatal("no request was sent")
	}
	if end.goroutines > warm.goroutines+soakGoroutineSlop {
		t.Errorf("goroutines grew from %d to %d (bound: +%d)", warm.goroutines, end.goroutines, soakGoroutineSlop)
	}
	if end.heap > warm.heap+warm.heap/4+soakHeapSlopBytes {
		t.Errorf("live heap grew from %d to %d bytes (bound: +25%% +%d MiB)", warm.heap, end.heap, soakHeapSlopBytes>>20)
	}
}

type soakSample struct {
	goroutines int
	heap       uint64
}

// takeSoakSample measures the process after a full collection.
func takeSoakSample() soakSample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return soakSample{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc}
}

// soakClient is one worker's view of an endpoint.
type soakClient struct {
	e     *testharness.Endpoint
	limit *rate.Limiter
	sent  *atomic.Int64
	fail  func(string)
	entra bool // Entra ID's request shapes instead of Okta's
}

// lifecycle provisions one user the way the worker's IdP does, from the
// lookup before the create to the removal, with a group push in between.
func (c soakClient) lifecycle(ctx context.Context, userName string) {
	filter := "/Users?filter=" + url.QueryEscape(fmt.Sprintf("userName eq %q", userName))
	if !c.do(ctx, "GET", filter, nil, nil) {
		return
	}
	var created map[string]any
	if !c.do(ctx, "POST", "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName, "active": true,
		"externalId": "ext-" + userName, "name": map[string]any{"givenName": "Soak", "familyName": "Test"},
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}},
	}, &created) {
		return
	}
	id, _ := created["id"].(string)
	user := "/Users/" + id
	deactivate, reactivate := c.activeOps(false), c.activeOps(true)
	var group map[string]any
	steps := []func() bool{
		func() bool { return c.do(ctx, "GET", user, nil, nil) },
		func() bool { return c.do(ctx, "GET", filter, nil, nil) },
		func() bool {
			return c.do(ctx, "PATCH", user, patchBody(map[string]any{"op": c.op("replace"), "path": "name.familyName", "value": "Soaked"}), nil)
		},
		func() bool { return c.do(ctx, "PATCH", user, deactivate, nil) },
		func() bool { return c.do(ctx, "PATCH", user, reactivate, nil) },
		func() bool {
			return c.do(ctx, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
				"displayName": "g-" + userName, "members": []any{}}, &group)
		},
		func() bool {
			return c.do(ctx, "PATCH", "/Groups/"+str(group["id"]), patchBody(map[string]any{"op": c.op("add"), "path": "members",
				"value": []any{map[string]any{"value": id}}}), nil)
		},
		func() bool {
			return c.do(ctx, "GET", "/Groups/"+str(group["id"])+"?excludedAttributes=members", nil, nil)
		},
		func() bool {
			return c.do(ctx, "PATCH", "/Groups/"+str(group["id"]), patchBody(map[string]any{"op": c.op("remove"),
				"path": fmt.Sprintf("members[value eq %q]", id)}), nil)
		},
		func() bool { return c.do(ctx, "DELETE", "/Groups/"+str(group["id"]), nil, nil) },
		func() bool { return c.do(ctx, "PATCH", user, deactivate, nil) },
		func() bool { return c.do(ctx, "DELETE", user, nil, nil) },
	}
	for _, step := range steps {
		if !step() {
			return
		}
	}
}

// activeOps is a PATCH setting active, as Okta (boolean, no path) or Entra
// ID (capitalized op, path, string boolean) sends it.
func (c soakClient) activeOps(active bool) map[string]any {
	if c.entra {
		return patchBody(map[string]any{"op": "Replace", "path": "active", "value": fmt.Sprintf("%t", active)})
	}
	return patchBody(map[string]any{"op": "replace", "value": map[string]any{"active": active}})
}

func (c soakClient) op(name string) string {
	if c.entra {
		return string(name[0]-'a'+'A') + name[1:]
	}
	return name
}

func patchBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func str(v any) string { s, _ := v.(string); return s }

// do sends one request at the endpoint's rate, through the suite's do, and
// records a failure for anything but 2xx (once the soak's time is up, the
// limiter stops the worker; a request already sent runs to its end). It
// decodes a JSON body into out when out is not nil.
func (c soakClient) do(ctx context.Context, method, path string, body any, out *map[string]any) bool {
	if err := c.limit.Wait(ctx); err != nil {
		return false
	}
	c.sent.Add(1)
	o := do(context.Background(), c.e, "soak", c.e.Token, method, path, body)
	switch {
	case o.err != nil:
		c.fail(fmt.Sprintf("%s %s: %v", method, path, o.err))
		return false
	case o.status/100 != 2:
		c.fail(fmt.Sprintf("%s %s: %d %.300s", method, path, o.status, o.body))
		return false
	}
	if out != nil {
		if err := json.Unmarshal(o.body, out); err != nil {
			c.fail(fmt.Sprintf("%s %s: %v", method, path, err))
			return false
		}
	}
	return true
}
