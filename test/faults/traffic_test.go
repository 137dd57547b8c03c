package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// outcomeRecord is one request of background traffic.
type outcomeRecord struct {
	token      string // label of the token used
	method     string
	path       string
	start, end time.Time
	status     int // 0 when the request failed without a response
	header     http.Header
	body       []byte
	err        error
	// userName is what a POST /Users created (when it got 201), id its id.
	userName, id string
}

// recorder collects traffic records from several goroutines.
type recorder struct {
	mu   sync.Mutex
	list []outcomeRecord
}

func (r *recorder) add(o outcomeRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, o)
}

func (r *recorder) all() []outcomeRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outcomeRecord(nil), r.list...)
}

// count returns how many records satisfy keep.
func (r *recorder) count(keep func(outcomeRecord) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.list {
		if keep(o) {
			n++
		}
	}
	return n
}

// do sends one SCIM request with token and records it under label. It is
// safe from any goroutine; body is JSON-encoded when not nil.
func do(ctx context.Context, e *testharness.Endpoint, label, token, method, path string, body any) outcomeRecord {
	o := outcomeRecord{token: label, method: method, path: path, start: time.Now()}
	defer func() { o.end = time.Now() }()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, e.BaseURL+path, rd)
	if err != nil {
		o.err = err
		return o
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		o.err = err
		o.end = time.Now()
		return o
	}
	defer resp.Body.Close()
	o.body, o.err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	o.status, o.header = resp.StatusCode, resp.Header
	if method == http.MethodPost && resp.StatusCode == http.StatusCreated {
		var res struct {
			ID       string `json:"id"`
			UserName string `json:"userName"`
		}
		_ = json.Unmarshal(o.body, &res)
		o.id, o.userName = res.ID, res.UserName
	}
	o.end = time.Now()
	return o
}

// traffic runs workers goroutines that each loop: pick a token, then GET a
// page of users or (every third request, up to maxPosts in all) POST a new
// user. It stops at stop(), after limit or after maxPerWorker requests per
// worker.
type traffic struct {
	rec    *recorder
	tokens atomic.Pointer[[]tokenLabel] // the tokens traffic may use now
	posts  atomic.Int64
	cancel context.CancelFunc
	done   chan struct{} // closed by stop
	once   sync.Once
	wg     sync.WaitGroup
}

// tokenLabel is a token and the name records use for it.
type tokenLabel struct{ label, token string }

func startTraffic(e *testharness.Endpoint, workers, maxPerWorker, maxPosts int, limit time.Duration, prefix string, tokens ...tokenLabel) *traffic {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	tr := &traffic{rec: &recorder{}, cancel: cancel, done: make(chan struct{})}
	tr.use(tokens...)
	for w := range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := 0; i < maxPerWorker && ctx.Err() == nil && !closed(tr.done); i++ {
				toks := *tr.tokens.Load()
				tl := toks[(i+w)%len(toks)]
				var o outcomeRecord
				if n := tr.posts.Add(1); i%3 == 2 && n <= int64(maxPosts) {
					o = do(ctx, e, tl.label, tl.token, http.MethodPost, "/Users",
						userBody(fmt.Sprintf("%s-%d-%d@example.com", prefix, w, n), strconv.Itoa(int(n))))
				} else {
					o = do(ctx, e, tl.label, tl.token, http.MethodGet, "/Users?startIndex=1&count=2", nil)
				}
				if ctx.Err() != nil && o.err != nil {
					return // cut short by the time limit: not a result
				}
				tr.rec.add(o)
				select {
				case <-tr.done:
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	return tr
}

// use switches the tokens new requests pick from.
func (tr *traffic) use(tokens ...tokenLabel) {
	list := append([]tokenLabel(nil), tokens...)
	tr.tokens.Store(&list)
}

// stop ends the traffic and waits for the workers; requests in flight
// finish and are recorded. It may be called more than once.
func (tr *traffic) stop() {
	tr.once.Do(func() { close(tr.done) })
	tr.wg.Wait()
	tr.cancel()
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
