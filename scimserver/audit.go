package scimserver

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// auditWrite logs one line per SCIM write on the audit stream: endpoint, token
// id (never the token), operation, resource and id, the result and the
// client's address. Attribute values are never logged.
func (s *Server) auditWrite(r *http.Request, req *request, resource, id string, err error) {
	status := http.StatusOK
	switch {
	case err != nil:
		status = translate(err).Status
	case r.Method == http.MethodPost:
		status = http.StatusCreated
	case r.Method == http.MethodDelete:
		status = http.StatusNoContent
	}
	s.audit.Info("scim write",
		"endpoint", req.ep.Key.String(), "token", req.tokenID, "method", r.Method,
		"resource", resource, "id", id, "status", status, "client", s.clientIP(r))
}

// auditAuthFailure records a request that failed to authenticate: the
// endpoint it addressed (known or not), whether a bearer token was presented
// (never the token), and the client's address. Lines are rate-limited so a
// flood of bad tokens cannot flood the log; the next line written says how
// many were left out.
func (s *Server) auditAuthFailure(r *http.Request, endpoint string, presented bool) {
	suppressed, ok := s.authFailures.take(time.Now())
	if !ok {
		return
	}
	s.audit.Info("scim authentication failed",
		"endpoint", endpoint, "tokenPresented", presented, "method", r.Method,
		"client", s.clientIP(r), "suppressedSinceLast", suppressed)
}

// limitedLog lets a bounded rate of lines through and counts the others.
type limitedLog struct {
	mu         sync.Mutex
	limiter    *rate.Limiter
	suppressed int
}

func newLimitedLog(perSecond float64, burst int) *limitedLog {
	return &limitedLog{limiter: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// take reports whether a line may be written now and how many were
// suppressed since the last one written.
func (l *limitedLog) take(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.limiter.AllowN(now, 1) {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.suppressed = 0
	return n, true
}

// clientIP is the address of the client: the connection's peer, or, when
// that peer is a configured trusted proxy, the right-most X-Forwarded-For
// entry that is not itself a trusted proxy. X-Forwarded-For from anyone else
// is ignored: a client could write anything there.
func (s *Server) clientIP(r *http.Request) string {
	return ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.opts.TrustedProxies)
}

// ClientIP is clientIP as a pure function of the connection's peer address,
// the X-Forwarded-For header fields and the trusted proxies.
func ClientIP(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	var hops []string
	for _, f := range forwardedFor {
		for _, h := range strings.Split(f, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a malformed hop: trust nothing left of it
		}
		client = a.Unmap()
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
