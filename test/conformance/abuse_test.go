package conformance

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// startServingReplica starts a second operator on the package's control
// plane that serves SCIM with the given options and never reconciles: its
// leader election Lease is held by someone else for the test's lifetime, so
// the package's operator stays the only one projecting.
func startServingReplica(t *testing.T, name string, scim testharness.Options) *testharness.Operator {
	t.Helper()
	name = testharness.UniqueName(name) // -count=N runs each test anew
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("someone-else"),
			LeaseDurationSeconds: ptr.To[int32](3600), AcquireTime: &now, RenewTime: &now}}
	if err := op.Client.Create(context.Background(), lease); err != nil {
		t.Fatalf("creating the held Lease: %v", err)
	}
	scim.LeaderElection, scim.LeaderElectionID = true, name
	replica, err := testharness.StartOperatorWith(op.CP, scim)
	if err != nil {
		t.Fatalf("starting the serving replica: %v", err)
	}
	t.Cleanup(func() {
		if err := replica.Stop(); err != nil {
			t.Errorf("stopping the serving replica: %v", err)
		}
	})
	return replica
}

// holdRequest opens a POST whose body never finishes, so the server keeps
// it in flight until the connection closes.
func holdRequest(t *testing.T, ep *testharness.Endpoint, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	path := fmt.Sprintf("/scim/v2/%s/%s/Users", ep.Namespace, ep.Name)
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{\"userName\":", path, addr, ep.Token)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// holdUntilRefused holds requests open on ep until a probe is refused with
// want, and returns that refusal and the connections it held. A request's
// slot is freed only when its handler returns, a moment after its client has
// the answer, so a hold sent right after NewEndpoint's probe can be refused;
// a refused hold is answered and closed at once, and another is opened.
func holdUntilRefused(t *testing.T, ep *testharness.Endpoint, addr string, want int, what string) (testharness.Response, []net.Conn) {
	t.Helper()
	var held []net.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		if len(held) < 8 {
			held = append(held, holdRequest(t, ep, addr))
		}
		time.Sleep(50 * time.Millisecond)
		r := ep.Do(t, "GET", "/ServiceProviderConfig", nil)
		if r.Status == want {
			return r, held
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d requests held, last status %d", what, len(held), r.Status)
		}
	}
}

// TestInFlightCapSheds503: with --scim-max-in-flight=2 and two requests
// held open, a third is answered 503 with Retry-After and a SCIM Error,
// before authentication (a request without a token is shed too, not 401);
// once the held requests end, requests are served again.
func TestInFlightCapSheds503(t *testing.T) {
	replica := startServingReplica(t, "abuse-in-flight", testharness.Options{SCIM: scimserver.Options{MaxInFlight: 2, MaxInFlightPerEndpoint: 2}})
	ep := replica.NewEndpoint(t, testharness.Namespace(t), "idp")
	r, held := holdUntilRefused(t, ep, replica.Addr, http.StatusServiceUnavailable, "held requests never filled the cap of 2")
	expectError(t, r, http.StatusServiceUnavailable, "")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", r.Header)
	}
	expectError(t, ep.DoToken(t, "", "GET", "/Users", nil), http.StatusServiceUnavailable, "")

	// A shed request whose body is still arriving is answered at once, not
	// after the server's 60 s read timeout, and its connection is closed.
	slow := holdRequest(t, ep, replica.Addr)
	_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer, err := io.ReadAll(slow)
	if err != nil {
		t.Fatalf("a shed request with an unfinished body was not answered and closed: %v (read %q)", err, answer)
	}
	if !strings.HasPrefix(string(answer), "HTTP/1.1 503") || !strings.Contains(string(answer), "Connection: close") {
		t.Fatalf("a shed request with an unfinished body was answered %q", answer)
	}

	for _, c := range held {
		_ = c.Close()
	}
	waitForStatus(t, ep, http.StatusOK, 10*time.Second, "slots never freed after the held requests ended")
}

// TestEndpointShareOfInFlight: one endpoint's token holder, holding slow
// requests open, gets 429 beyond its share of the in-flight slots while
// another endpoint is still served; and a body that never finishes holds
// its slot only until the request's time limit.
func TestEndpointShareOfInFlight(t *testing.T) {
	replica := startServingReplica(t, "abuse-endpoint-share", testharness.Options{SCIM: scimserver.Options{
		MaxInFlight: 8, MaxInFlightPerEndpoint: 2, RequestTimeout: 2 * time.Second}})
	ns := testharness.Namespace(t)
	greedy := replica.NewEndpoint(t, ns, "greedy")
	other := replica.NewEndpoint(t, ns, "other")
	r, _ := holdUntilRefused(t, greedy, replica.Addr, http.StatusTooManyRequests, "held requests never filled the endpoint's share of 2")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After: %v", r.Header)
	}
	expectStatus(t, other.Do(t, "GET", "/ServiceProviderConfig", nil), http.StatusOK)
	// The held bodies never finish: the read deadline (the 2 s request
	// limit) ends them and frees the slots, with the connections still open.
	waitForStatus(t, greedy, http.StatusOK, 15*time.Second, "slow bodies held their slots past the request limit")
}

// TestEndpointRateLimitClamped: an endpoint asking for 100,000 requests per
// second, on an operator whose maximum is 20 rps with a burst of 20, gets
// 429s within a short burst; the operator without the clamp serves the same
// burst to the same endpoint in full.
func TestEndpointRateLimitClamped(t *testing.T) {
	replica := startServingReplica(t, "abuse-clamp", testharness.Options{
		SCIM: scimserver.Options{MaxEndpointRPS: 20, MaxEndpointBurst: 20}})
	ep := replica.NewEndpoint(t, testharness.Namespace(t), "idp") // spec.rateLimit 100,000 rps, burst 100,000

	const requests = 60
	start := time.Now()
	served, limited := 0, 0
	for range requests {
		r := ep.Do(t, "GET", "/ServiceProviderConfig", nil)
		switch r.Status {
		case http.StatusOK:
			served++
		case http.StatusTooManyRequests:
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After: %v", r.Header)
			}
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	elapsed := time.Since(start)
	// The bucket starts full (20; NewEndpoint took one) and refills at 20/s.
	if most := 20 + int(20*elapsed.Seconds()) + 1; served > most || limited == 0 {
		t.Fatalf("%d served, %d limited in %v: want at most %d served", served, limited, elapsed, most)
	}

	unclamped := *ep
	unclamped.BaseURL = "http://" + op.Addr + ep.BaseURL[len("http://"+replica.Addr):]
	for i := range requests {
		if r := unclamped.Do(t, "GET", "/ServiceProviderConfig", nil); r.Status != http.StatusOK {
			t.Fatalf("request %d to the unclamped operator: status %d", i, r.Status)
		}
	}
}

// TestEndpointQuota: with spec.quota.maxUsers 3 the fourth user is refused
// with 403 and a detail naming the quota; deleting one makes room. Groups
// have their own quota.
func TestEndpointQuota(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t, func(e *scimv1.ScimEndpoint) {
		e.Spec.Quota = scimv1.EndpointQuota{MaxUsers: 3, MaxGroups: 1}
	})
	user := func(name string) string {
		return fmt.Sprintf(`{"schemas":[%q],"userName":%q,"active":true}`, userURN, name)
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, str(post(t, ep, "Users", user(fmt.Sprintf("quota%d@example.com", i))), "id"))
	}
	m := expectError(t, ep.Do(t, "POST", "/Users", user("quota3@example.com")), http.StatusForbidden, "")
	if d := str(m, "detail"); !strings.Contains(d, "quota of 3 users") {
		t.Fatalf("detail %q does not name the quota", d)
	}
	patchOK(t, ep, "/Users/"+ids[0], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"active":false}}]}`)
	expectStatus(t, ep.Do(t, "DELETE", "/Users/"+ids[1], nil), http.StatusNoContent)
	post(t, ep, "Users", user("quota3@example.com"))
	expectError(t, ep.Do(t, "POST", "/Users", user("quota4@example.com")), http.StatusForbidden, "")

	group := func(name string) string { return fmt.Sprintf(`{"schemas":[%q],"displayName":%q}`, groupURN, name) }
	post(t, ep, "Groups", group("quota-a"))
	expectError(t, ep.Do(t, "POST", "/Groups", group("quota-b")), http.StatusForbidden, "")
}

// TestEndpointQuotaUnderConcurrency: a burst of concurrent creates on one
// replica cannot all pass one quota check.
func TestEndpointQuotaUnderConcurrency(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t, func(e *scimv1.ScimEndpoint) { e.Spec.Quota = scimv1.EndpointQuota{MaxUsers: 5} })
	var wg sync.WaitGroup
	var created, refused atomic.Int32
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := send(ep, "POST", "/Users", fmt.Sprintf(`{"schemas":[%q],"userName":"burst%d@example.com","active":true}`, userURN, i))
			switch {
			case err != nil:
				t.Errorf("POST: %v", err)
			case r.Status == http.StatusCreated:
				created.Add(1)
			case r.Status == http.StatusForbidden:
				refused.Add(1)
			default:
				t.Errorf("POST: status %d: %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 5 || refused.Load() != 25 {
		t.Fatalf("%d created and %d refused by a quota of 5 users, want 5 and 25", created.Load(), refused.Load())
	}
	if n := len(search(t, ep, "/Users?count=100").Resources); n != 5 {
		t.Fatalf("%d users stored, want 5", n)
	}
}

// waitForStatus polls GET /ServiceProviderConfig on ep until it answers want,
// failing the test with what after the timeout; it returns the response.
func waitForStatus(t *testing.T, ep *testharness.Endpoint, want int, timeout time.Duration, what string) testharness.Response {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := ep.Do(t, "GET", "/ServiceProviderConfig", nil)
		if r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: last status %d", what, r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
