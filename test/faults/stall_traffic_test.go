package faults

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// stallTraffic is the SCIM traffic of TestTenantDatabaseStall on one
// endpoint: two workers, each creating a user, reading it, adding it to a
// group and deleting one of doomed, with a 50 ms pause between requests.
type stallTraffic struct {
	rec  recorder
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// startStallTraffic starts the traffic on e; stop ends it.
func startStallTraffic(e *testharness.Endpoint, group string, doomed []string) *stallTraffic {
	tr := &stallTraffic{done: make(chan struct{})}
	queue := make(chan string, len(doomed))
	for _, id := range doomed {
		queue <- id
	}
	close(queue)
	ctx := context.Background()
	for w := range 2 {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			send := func(method, path string, body any) outcomeRecord {
				o := do(ctx, e, "stall", e.Token, method, path, body)
				tr.rec.add(o)
				select {
				case <-tr.done:
				case <-time.After(50 * time.Millisecond):
				}
				return o
			}
			for i := 0; i < 1000 && !closed(tr.done); i++ {
				name := fmt.Sprintf("stall-traffic-%d-%d@example.com", w, i)
				o := send(http.MethodPost, "/Users", userBody(name, ""))
				if o.status != http.StatusCreated {
					continue
				}
				send(http.MethodGet, "/Users/"+o.id, nil)
				send(http.MethodPatch, "/Groups/"+group, patchOp(op("add", "members", []any{map[string]any{"value": o.id}})))
				if id, ok := <-queue; ok {
					send(http.MethodDelete, "/Users/"+id, nil)
				}
			}
		}()
	}
	return tr
}

// stop ends the traffic and waits for the requests in flight.
func (tr *stallTraffic) stop() {
	tr.once.Do(func() { close(tr.done) })
	tr.wg.Wait()
}

// summary returns the number of requests, the failed ones (not 2xx) and
// latency percentiles.
func (tr *stallTraffic) summary() (n int, failed []string, p50, p99, slowest time.Duration) {
	recs := tr.rec.all()
	took := make([]time.Duration, len(recs))
	for i, o := range recs {
		took[i] = o.end.Sub(o.start)
		if o.status/100 != 2 {
			failed = append(failed, fmt.Sprintf("%s %s: %d %v %s", o.method, o.path, o.status, o.err, snippet(o.body)))
		}
	}
	if len(took) == 0 {
		return 0, failed, 0, 0, 0
	}
	slices.Sort(took)
	at := func(q float64) time.Duration { return took[min(len(took)-1, int(q*float64(len(took))))] }
	return len(recs), failed, at(0.50), at(0.99), took[len(took)-1]
}

// scrapeMetric reads the operator's /metrics and returns the value of the
// series name of TenantApp "app" in ns, and whether it exists.
func scrapeMetric(t *testing.T, addr, name, ns string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, `namespace="`+ns+`"`) ||
			!strings.Contains(line, `name="app"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		return v, true
	}
	return 0, false
}

// hasUser reports whether rows hold user id.
func hasUser(rows []tenantdb.User, id string) bool {
	return slices.ContainsFunc(rows, func(u tenantdb.User) bool { return u.ID == id })
}
