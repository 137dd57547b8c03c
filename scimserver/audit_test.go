package scimserver

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	"k8s.io/apimachinery/pkg/types"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		reason, remote string
		xff            []string
		trusted        []netip.Prefix
		want           string
	}{
		{"no proxy configured: the peer, whatever the header says", "203.0.113.5:4000", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"an untrusted peer's header is ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, proxies, "203.0.113.5"},
		{"a trusted proxy's last hop", "10.1.2.3:4000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"a client cannot prepend its own entry", "10.1.2.3:4000", []string{"1.2.3.4, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"trusted hops are skipped from the right", "10.1.2.3:4000", []string{"198.51.100.1, 10.9.9.9", "10.4.4.4"}, proxies, "198.51.100.1"},
		{"a malformed hop stops the walk", "10.1.2.3:4000", []string{"198.51.100.1, not-an-ip, 10.9.9.9"}, proxies, "10.9.9.9"},
		{"no header from a trusted proxy: the proxy", "10.1.2.3:4000", nil, proxies, "10.1.2.3"},
		{"IPv6", "[fd00::1]:4000", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
	} {
		if got := ClientIP(tc.remote, tc.xff, tc.trusted); got != tc.want {
			t.Errorf("%s: ClientIP = %s, want %s", tc.reason, got, tc.want)
		}
	}
}

// TestFailLogsTheCauseOfA500: the client sees "internal error"; the log has
// the cause, at error level.
func TestFailLogsTheCauseOfA500(t *testing.T) {
	var lines []string
	s := &Server{log: funcr.New(func(p, a string) { lines = append(lines, p+" "+a) }, funcr.Options{})}
	req := &request{ep: &Endpoint{Key: types.NamespacedName{Namespace: "ns", Name: "okta"}}, resource: "Users", id: "u1"}
	w := httptest.NewRecorder()
	s.fail(w, httptest.NewRequest(http.MethodGet, "/scim/v2/ns/okta/Users/u1", nil), req, errors.New("etcd exploded"))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "etcd") {
		t.Fatalf("response %d %s", w.Code, w.Body)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "etcd exploded") || !strings.Contains(lines[0], `"endpoint"="ns/okta"`) {
		t.Fatalf("log lines %q", lines)
	}
	lines = nil
	s.fail(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), req, errorf(http.StatusNotFound, "", "resource not found"))
	if len(lines) != 0 {
		t.Fatalf("a 404 was logged as an internal error: %q", lines)
	}
}
