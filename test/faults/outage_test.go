package faults

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// outageDuration is how long kube-apiserver stays down.
const outageDuration = 30 * time.Second

// outageWorkload is the SCIM traffic of TestAPIServerOutage: one writer whose
// every write has an effect that can be checked afterwards (a new user, a new
// member, a new entitlement, a deleted user, a new group with a member) and
// two readers.
type outageWorkload struct {
	e             *testharness.Endpoint
	target, group string   // a user gaining entitlements, a group gaining members
	doomed        []string // users deleted one by one
	rec           recorder
	created       []string // ids of users created with 201, not yet added to group
}

func (w *outageWorkload) write(ctx context.Context, i int) {
	var o outcomeRecord
	switch {
	case i%5 == 1 && len(w.created) > 0:
		id := w.created[0]
		w.created = w.created[1:]
		o = do(ctx, w.e, "member:"+id, w.e.Token, http.MethodPatch, "/Groups/"+w.group, patchOp(op("add", "members", []any{map[string]any{"value": id}})))
	case i%5 == 2 && i < 800:
		o = do(ctx, w.e, "entitlement:e-"+strconv.Itoa(i), w.e.Token, http.MethodPatch, "/Users/"+w.target,
			patchOp(op("add", "entitlements", []any{map[string]any{"value": "e-" + strconv.Itoa(i)}})))
	case i%5 == 3 && len(w.doomed) > 0:
		id := w.doomed[0]
		w.doomed = w.doomed[1:]
		o = do(ctx, w.e, "delete:"+id, w.e.Token, http.MethodDelete, "/Users/"+id, nil)
	case i%5 == 4:
		name := fmt.Sprintf("outage-group-%d", i)
		o = do(ctx, w.e, "group:"+name, w.e.Token, http.MethodPost, "/Groups", groupBody(name, w.target))
	default:
		name := fmt.Sprintf("outage-%d@example.com", i)
		o = do(ctx, w.e, "user:"+name, w.e.Token, http.MethodPost, "/Users", userBody(name, ""))
		if o.status == http.StatusCreated {
			w.created = append(w.created, o.id)
		}
	}
	w.rec.add(o)
}

func (w *outageWorkload) read(ctx context.Context, i int) {
	paths := []string{"/Users/" + w.target, "/Groups/" + w.group + "?excludedAttributes=members",
		"/Users?filter=" + "userName%20eq%20%22outage-seed-0%40example.com%22"}
	w.rec.add(do(ctx, w.e, "read", w.e.Token, http.MethodGet, paths[i%len(paths)], nil))
}

// run sends traffic until stop is closed (requests in flight finish) or ctx
// ends: one writer, two readers, each pausing 100 ms between requests.
func (w *outageWorkload) run(ctx context.Context, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	loop := func(f func(context.Context, int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000 && ctx.Err() == nil && !closed(stop); i++ {
				f(ctx, i)
				select {
				case <-stop:
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	loop(w.write)
	loop(w.read)
	loop(func(ctx context.Context, i int) { w.read(ctx, i+1) })
	return &wg
}

// TestAPIServerOutage stops kube-apiserver for 30 s (SIGTERM, SIGKILL after
// stopGrace) while SCIM traffic flows, and starts it again. Throughout, every
// SCIM response must be a 2xx or a 503 with Retry-After and a SCIM Error
// body, never another status, and no write that ran while kube-apiserver was
// gone may report success. Right after the restart, a user the client has
// just created (201) must be readable and usable as a group member (read-after-write
// holds for the client that wrote). Afterwards every
// write that got a 2xx must be stored in the API server and, once the cache
// has caught up, visible to SCIM reads; nothing may be half-written (see
// checkNotHalfWritten).
func TestAPIServerOutage(t *testing.T) {
	rc := startRestartable(t)
	op := testharness.RunOperator(t, rc.cp, testharness.Options{})
	e := op.NewEndpoint(t, testharness.UniqueName("faults-outage"), "idp")
	w := &outageWorkload{e: e}
	mustCreate := func(resource string, body map[string]any) string {
		r := e.Do(t, http.MethodPost, "/"+resource, body)
		id, _ := r.JSON(t)["id"].(string)
		if r.Status != http.StatusCreated || id == "" {
			t.Fatalf("seeding: %d %s", r.Status, r.Body)
		}
		return id
	}
	w.target = mustCreate("Users", userBody("outage-seed-0@example.com", ""))
	for i := range 8 {
		w.doomed = append(w.doomed, mustCreate("Users", userBody(fmt.Sprintf("outage-doomed-%d@example.com", i), "")))
	}
	w.group = mustCreate("Groups", groupBody("Outage Crew", append([]string{w.target}, w.doomed...)...))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan struct{})
	var once sync.Once
	stopTraffic := func() { once.Do(func() { close(done) }) }
	wg := w.run(ctx, done)
	defer func() { stopTraffic(); wg.Wait() }()
	acknowledged := func(since time.Time) int {
		return w.rec.count(func(o outcomeRecord) bool { return o.token != "read" && !o.start.Before(since) && o.status/100 == 2 })
	}
	if !testharness.WaitTrue(30*time.Second, func() bool { return acknowledged(time.Time{}) >= 10 }) {
		t.Fatal("no traffic before the outage")
	}

	down := time.Now()
	killed, err := rc.stopAPIServer()
	if err != nil {
		t.Fatalf("stopping kube-apiserver: %v", err)
	}
	stopped := time.Now()
	time.Sleep(outageDuration - stopped.Sub(down))
	restart := time.Now()
	if err := rc.startAPIServer(); err != nil {
		t.Fatalf("starting kube-apiserver again: %v", err)
	}
	up := time.Now()
	var caught time.Time
	t.Run("read-after-write right after the restart", func(t *testing.T) { caught = checkReadYourWrite(ctx, t, w) })
	if caught.IsZero() {
		t.Fatal("the SCIM server never caught up after the restart")
	}
	if !testharness.WaitTrue(30*time.Second, func() bool { return acknowledged(caught) >= 1 }) {
		t.Errorf("no SCIM write succeeded in the 30 s after the cache caught up")
	}
	stopTraffic()
	wg.Wait()
	t.Logf("kube-apiserver: SIGTERM, gone after %v (killed: %v); down %v in all; restarted in %v; the cache caught up %v after that",
		stopped.Sub(down).Round(time.Millisecond), killed, restart.Sub(down).Round(time.Millisecond),
		up.Sub(restart).Round(time.Millisecond), caught.Sub(up).Round(time.Millisecond))
	logPhases(t, w.rec.all(), []phaseMark{{"before", time.Time{}}, {"shutting down", down}, {"down", stopped},
		{"starting", restart}, {"cache stale", up}, {"recovered", caught}})
	t.Run("every answer is a 2xx or a 503 with Retry-After", func(t *testing.T) {
		checkOutageResponses(t, w.rec.all(), stopped, restart)
	})
	t.Run("every acknowledged write is stored", func(t *testing.T) { checkOutageEffects(ctx, t, op, w) })
	t.Run("nothing is half-written", func(t *testing.T) { checkNotHalfWritten(ctx, t, op.Client, w) })
}

// checkReadYourWrite runs as soon as kube-apiserver is back: it creates a
// user (retrying 503s for up to 60 s), then at once reads it and adds it to
// the group, as an IdP does after a create: the server promises that
// the client that wrote reads its write. It returns when the informer cache had
// caught up (a read of the user succeeds).
func checkReadYourWrite(ctx context.Context, t *testing.T, w *outageWorkload) time.Time {
	t.Helper()
	e := w.e
	var created outcomeRecord
	if !testharness.WaitTrue(60*time.Second, func() bool {
		created = do(ctx, e, "probe", e.Token, http.MethodPost, "/Users", userBody("outage-probe@example.com", ""))
		return created.status != http.StatusServiceUnavailable
	}) || created.status != http.StatusCreated {
		t.Fatalf("creating a user after the restart: %d %s", created.status, snippet(created.body))
	}
	t.Logf("the first create after the restart took %v", created.end.Sub(created.start).Round(time.Millisecond))
	if o := do(ctx, e, "probe", e.Token, http.MethodGet, "/Users/"+created.id, nil); o.status != http.StatusOK {
		t.Errorf("GET of the user created (201) just before: %d, want 200 (read-after-write for the client that wrote): %s", o.status, snippet(o.body))
	}
	add := patchOp(op("add", "members", []any{map[string]any{"value": created.id}}))
	if o := do(ctx, e, "probe", e.Token, http.MethodPatch, "/Groups/"+w.group, add); o.status/100 != 2 {
		t.Errorf("adding the user created (201) just before to a group: %d, want 2xx: %s", o.status, snippet(o.body))
	}
	var caught time.Time
	if !testharness.WaitTrue(90*time.Second, func() bool {
		caught = time.Now()
		s, _ := scimGet(ctx, e, "/Users/"+created.id)
		return s == http.StatusOK
	}) {
		t.Fatal("the SCIM server never read the user created after the restart")
	}
	return caught
}

// phaseMark names the part of a test that starts at from.
type phaseMark struct {
	name string
	from time.Time
}

// logPhases logs, per phase, how the requests that started in it were answered.
func logPhases(t *testing.T, recs []outcomeRecord, marks []phaseMark) {
	t.Helper()
	for i, m := range marks {
		var to time.Time
		if i+1 < len(marks) {
			to = marks[i+1].from
		}
		counts := map[string]int{}
		slowest := time.Duration(0)
		for _, o := range recs {
			if o.start.Before(m.from) || !to.IsZero() && !o.start.Before(to) {
				continue
			}
			kind := "write"
			if o.token == "read" {
				kind = "read"
			}
			counts[fmt.Sprintf("%s %d", kind, o.status)]++
			slowest = max(slowest, o.end.Sub(o.start))
		}
		keys := slices.Sorted(maps.Keys(counts))
		parts := make([]string, len(keys))
		for j, k := range keys {
			parts[j] = fmt.Sprintf("%s: %d", k, counts[k])
		}
		t.Logf("  %-14s %s; slowest %v", m.name, strings.Join(parts, ", "), slowest.Round(time.Millisecond))
	}
}
