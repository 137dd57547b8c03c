package conformance

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// auditLines collects the lines of an audit logger.
type auditLines struct {
	mu    sync.Mutex
	lines []string
}

func (a *auditLines) add(prefix, args string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lines = append(a.lines, prefix+" "+args)
}

func (a *auditLines) matching(sub string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, l := range a.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestAuditStream: the audit stream has its own logger (the debug log of
// this operator is discarded, the audit lines still arrive), records writes
// with the client address a trusted proxy forwarded, records failed
// authentications rate-limited, and never a userName or a token.
func TestAuditStream(t *testing.T) {
	t.Parallel()
	var audit auditLines
	scim, err := testharness.StartOperatorWith(op.CP, testharness.Options{
		Components: operator.ComponentsSCIM,
		SCIM: scimserver.Options{
			Audit:          funcr.New(audit.add, funcr.Options{}),
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = scim.Stop() })
	ep := newEndpoint(t)
	ep2 := *ep
	ep2.BaseURL = strings.Replace(ep.BaseURL, op.Addr, scim.Addr, 1)
	deadline := time.Now().Add(15 * time.Second)
	for ep2.Do(t, "GET", "/ServiceProviderConfig", nil).Status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the second SCIM server never accepted the endpoint's token")
		}
		time.Sleep(50 * time.Millisecond)
	}

	r := ep2.Do(t, "POST", "/Users", oktaUser("audited@atko.com", "Au", "Dited", "00ua"), "X-Forwarded-For", "198.51.100.23, 127.0.0.9")
	expectStatus(t, r, http.StatusCreated)
	writes := audit.matching(`"scim write"`)
	if len(writes) != 1 || !strings.Contains(writes[0], `"client"="198.51.100.23"`) || !strings.Contains(writes[0], `"status"=201`) {
		t.Fatalf("audit lines of the write: %q", writes)
	}
	for _, l := range audit.lines {
		if strings.Contains(l, "audited@atko.com") || strings.Contains(l, ep.Token) {
			t.Fatalf("an attribute value or the token in the audit stream: %s", l)
		}
	}

	bad := "0123456789abcdef0123456789abcdef-wrong"
	for i := 0; i < 200; i++ {
		expectStatus(t, ep2.DoToken(t, bad, "GET", "/Users", nil), http.StatusUnauthorized)
	}
	unknown := strings.Replace(ep2.BaseURL, "/"+ep.Name, "/no-such-endpoint", 1)
	resp, err := http.Get(unknown + "/Users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	failed := audit.matching(`"scim authentication failed"`)
	if len(failed) == 0 || len(failed) > 120 {
		t.Fatalf("%d audit lines for 201 failed authentications, want some but rate-limited", len(failed))
	}
	if !strings.Contains(failed[0], fmt.Sprintf(`"endpoint"="%s/%s"`, ep.Namespace, ep.Name)) || !strings.Contains(failed[0], `"tokenPresented"=true`) {
		t.Fatalf("first failed authentication line: %s", failed[0])
	}
	time.Sleep(200 * time.Millisecond) // the limiter lets a line through again
	expectStatus(t, ep2.DoToken(t, bad, "GET", "/Users", nil), http.StatusUnauthorized)
	failed = audit.matching(`"scim authentication failed"`)
	if last := failed[len(failed)-1]; strings.Contains(last, `"suppressedSinceLast"=0`) {
		t.Fatalf("the line after a flood does not count what was left out: %s", last)
	}
	for _, l := range failed {
		if strings.Contains(l, bad) {
			t.Fatalf("a presented token in the audit stream: %s", l)
		}
	}
}
