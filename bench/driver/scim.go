package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/scim-operator/scim-operator/scimserver"
)

// SCIM is an identity provider's HTTP client for one endpoint. It is safe
// for concurrent use, as an IdP's provisioning workers share one.
type SCIM struct {
	base, token string
	http        *http.Client
	// Requests counts requests sent, retries included; Retries counts the
	// 429 and 503 answers that were retried after Retry-After, as Okta does.
	Requests, Retries atomic.Int64
}

// maxRetries bounds the retries of one request.
const maxRetries = 3

// NewSCIM returns a client of endpoint ep on the SCIM server at addr. Like
// Okta, it gives up on a request after 60 s.
func NewSCIM(addr string, ep Endpoint) *SCIM {
	return &SCIM{
		base:  "http://" + addr + scimserver.PathPrefix + ep.Namespace + "/" + ep.Name,
		token: ep.Token,
		http: &http.Client{Timeout: 60 * time.Second,
			Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}},
	}
}

// Reply is a SCIM response.
type Reply struct {
	Status int
	Body   []byte
}

// Do sends a request; body, when not nil, is JSON-encoded. A 429 or 503
// with Retry-After is retried after the delay (capped at 5 s), at most three
// times. Any status is returned; only transport failures are errors.
func (s *SCIM) Do(ctx context.Context, method, path string, body any) (Reply, error) {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return Reply{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		r, retryAfter, err := s.once(ctx, method, path, data)
		if err != nil || retryAfter < 0 || attempt == maxRetries {
			return r, err
		}
		s.Retries.Add(1)
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(min(time.Duration(retryAfter)*time.Second, 5*time.Second)):
		}
	}
}

// Expect is Do that fails unless the status is one of want.
func (s *SCIM) Expect(ctx context.Context, method, path string, body any, want ...int) (Reply, error) {
	r, err := s.Do(ctx, method, path, body)
	if err == nil && !slices.Contains(want, r.Status) {
		err = fmt.Errorf("%s %s answered %d: %.300s", method, path, r.Status, r.Body)
	}
	return r, err
}

// once sends one request; retryAfter is the delay to retry after, or -1.
func (s *SCIM) once(ctx context.Context, method, path string, data []byte) (Reply, int, error) {
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return Reply{}, -1, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/scim+json")
	if data != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	s.Requests.Add(1)
	resp, err := s.http.Do(req)
	if err != nil {
		return Reply{}, -1, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r := Reply{Status: resp.StatusCode, Body: body}
	retryAfter := -1
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if n, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && n >= 0 {
			retryAfter = n
		}
	}
	return r, retryAfter, err
}

// decode unmarshals a reply's body.
func (r Reply) decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("response %d is not JSON: %w", r.Status, err)
	}
	return nil
}

// WaitServing polls GET /ServiceProviderConfig until the endpoint accepts its token.
func (s *SCIM) WaitServing(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		r, err := s.Do(ctx, http.MethodGet, "/ServiceProviderConfig", nil)
		if err == nil && r.Status == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("endpoint not serving within %s (last: %d %v)", limit, r.Status, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
