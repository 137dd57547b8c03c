package scimserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PathPrefix is the prefix of every endpoint's base URL: /scim/v2/<namespace>/<name>.
const PathPrefix = scimv1.SCIMPathPrefix

// request is what the routing layer learned about one authenticated request.
type request struct {
	ep       *Endpoint
	tokenID  string
	resource string // Users, Groups, Roles, ServiceProviderConfig, ResourceTypes, Schemas
	id       string // resource id, or "" for the collection
	baseURL  string // scheme://host/scim/v2/<ns>/<name>
}

// Handler returns the HTTP handler serving every endpoint.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// route parses the escaped path. Percent-encoding never appears in a valid
// path (namespaces, names and ids are DNS-style), so any '%' is refused: the
// endpoint a request authenticates against is exactly the one it addresses.
func route(escapedPath string) (key types.NamespacedName, resource, id string, ok bool) {
	if !strings.HasPrefix(escapedPath, PathPrefix) || strings.ContainsAny(escapedPath, "%\\") {
		return key, "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(escapedPath[len(PathPrefix):], "/"), "/")
	if len(parts) < 3 || len(parts) > 4 {
		return key, "", "", false
	}
	if len(validation.IsDNS1123Label(parts[0])) > 0 || len(validation.IsDNS1123Subdomain(parts[1])) > 0 {
		return key, "", "", false
	}
	key = types.NamespacedName{Namespace: parts[0], Name: parts[1]}
	resource = parts[2]
	if len(parts) == 4 {
		id = parts[3]
		if id == "" || id == "." || id == ".." {
			return key, "", "", false
		}
	}
	return key, resource, id, true
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusRecorder{ResponseWriter: rw}
	var endpointLabel, resourceLabel string
	defer func() { s.metrics.observe(endpointLabel, resourceLabel, r.Method, w.status, time.Since(start)) }()

	release, admitted := s.admit()
	if !admitted {
		s.shed(w, r, shedInFlight, http.StatusServiceUnavailable, "the server is at its limit of concurrent requests; retry later")
		return
	}
	defer release()
	key, resource, id, ok := route(r.URL.EscapedPath())
	if !ok {
		refuse(w, r, errorf(http.StatusNotFound, "", "no such SCIM resource"))
		return
	}
	ep := s.registry.Get(key)
	// An unknown endpoint costs the same comparisons as a known one.
	tokenID, authed := ep.authenticate(bearer(r))
	if !authed {
		s.auditAuthFailure(r, key.String(), bearer(r) != "")
		// An unknown endpoint and a wrong token look the same, so endpoints
		// cannot be enumerated.
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		refuse(w, r, errorf(http.StatusUnauthorized, "", "authentication failed: a valid bearer token is required"))
		return
	}
	endpointLabel, resourceLabel = key.String(), resource
	if wait, ok := ep.allow(time.Now()); !ok {
		refuse(w, r, &Error{Status: http.StatusTooManyRequests, Detail: "rate limit exceeded; retry later",
			RetryAfter: int(wait/time.Second) + 1})
		return
	}
	releaseEndpoint, ok := s.endpointBusy.take(key)
	if !ok {
		s.shed(w, r, shedEndpointInFlight, http.StatusTooManyRequests, "this endpoint has too many requests in flight; retry later")
		return
	}
	defer releaseEndpoint()
	// A body that arrives slowly cannot hold its slots past the request's
	// time limit.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.RequestTimeout))
	if r.ContentLength > s.opts.MaxBodyBytes {
		refuse(w, r, errorf(http.StatusRequestEntityTooLarge, "", "request body exceeds %d bytes", s.opts.MaxBodyBytes))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)

	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	req := &request{ep: ep, tokenID: tokenID, resource: resource, id: id,
		baseURL: s.baseURL(r) + PathPrefix + key.Namespace + "/" + key.Name}
	s.dispatch(w, r.WithContext(ctx), req)
}

// admit takes one of the server's in-flight slots without waiting: a full
// server sheds the request at once rather than queueing it, so the work held
// is bounded by Options.MaxInFlight whatever the request rate. It runs before
// routing and authentication, which cost a hash per configured token.
func (s *Server) admit() (release func(), ok bool) {
	if s.inFlight == nil {
		return func() {}, true
	}
	select {
	case s.inFlight <- struct{}{}:
		return func() { <-s.inFlight }, true
	default:
		return nil, false
	}
}

// shed answers a request refused for want of an in-flight slot, counted
// under reason, and tells the client to retry in a second.
func (s *Server) shed(w http.ResponseWriter, r *http.Request, reason string, status int, detail string) {
	s.metrics.shed.WithLabelValues(reason).Inc()
	refuse(w, r, &Error{Status: status, Detail: detail, RetryAfter: 1})
}

// refuse answers a request turned away before its body is read. Left to
// itself, net/http drains an unread body before it sends the answer, so a
// client whose body is slow or never ends would wait for its 401 or 503 as
// long as the server's read timeout, holding the connection all the while.
// A request with a body is answered at once and its connection closed.
func refuse(w http.ResponseWriter, r *http.Request, e *Error) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	writeError(w, e)
}

// endpointSlots bounds the requests each endpoint has in flight.
type endpointSlots struct {
	limit int
	mu    sync.Mutex
	busy  map[types.NamespacedName]int
}

func newEndpointSlots(limit int) *endpointSlots {
	return &endpointSlots{limit: limit, busy: map[types.NamespacedName]int{}}
}

// take takes one of key's slots without waiting.
func (e *endpointSlots) take(key types.NamespacedName) (release func(), ok bool) {
	if e.limit <= 0 {
		return func() {}, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.busy[key] >= e.limit {
		return nil, false
	}
	e.busy[key]++
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.busy[key]--; e.busy[key] == 0 {
			delete(e.busy, key)
		}
	}, true
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, req *request) {
	switch req.resource {
	case "Users":
		s.serveUsers(w, r, req)
	case "Groups":
		s.serveGroups(w, r, req)
	case "Roles":
		s.serveRoles(w, r, req)
	case "ServiceProviderConfig", "ResourceTypes", "Schemas":
		if r.Method != http.MethodGet {
			e := errorf(http.StatusMethodNotAllowed, "", "%s is read-only", req.resource)
			e.Allow = http.MethodGet
			writeError(w, e)
			return
		}
		s.serveDiscovery(w, req)
	default:
		writeError(w, errorf(http.StatusNotFound, "", "no such SCIM resource"))
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header. The
// scheme is matched case-insensitively (RFC 6750). A request with more than
// one Authorization field is ambiguous (RFC 9110 §5.3: the field is not a
// list), so a proxy and this server could read different credentials from
// it: it authenticates as nobody.
func bearer(r *http.Request) string {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return ""
	}
	h := values[0]
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *Server) baseURL(r *http.Request) string {
	if s.opts.ExternalURL != "" {
		return strings.TrimSuffix(s.opts.ExternalURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeJSON renders a SCIM response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError renders a SCIM Error response, with Retry-After when the client
// should retry and Allow when the method is not.
func writeError(w http.ResponseWriter, e *Error) {
	if e.Allow != "" {
		w.Header().Set("Allow", e.Allow)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, e.body())
}
