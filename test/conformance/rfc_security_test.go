package conformance

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestBodyTooLarge: bodies over 1 MiB are 413, whether the length is declared
// or the body is streamed; authentication still comes first.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(post(t, ep, "Users", fmt.Sprintf(plainUser, "big@example.com")), "id")
	big := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "huge@example.com", "displayName": %q}`,
		strings.Repeat("x", 1<<20))
	expectError(t, ep.Do(t, "POST", "/Users", big), 413, "")
	expectError(t, ep.Do(t, "PUT", "/Users/"+id, big), 413, "")
	bigPatch := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": %q}]}`,
		strings.Repeat("x", 1<<20))
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, bigPatch), 413, "")
	expectError(t, ep.DoToken(t, "wrong-token-wrong-token", "POST", "/Users", big), 401, "")

	// Streamed without Content-Length.
	req, err := http.NewRequest("POST", ep.BaseURL+"/Users", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ep.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := ep.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	expectError(t, testharness.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, 413, "")

	equal(t, "users", search(t, ep, "/Users").Total, 1)
	// Just under the cap is read in full (the unknown attribute is dropped).
	fits := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "fits@example.com", "x-padding": %q}`,
		strings.Repeat("y", 1<<20-200))
	post(t, ep, "Users", fits)
}

// TestCountCapped: count is capped at the endpoint's maxPageSize, which is
// also the default page size.
func TestCountCapped(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t, func(e *scimv1.ScimEndpoint) { e.Spec.MaxPageSize = 3 })
	for i := range 5 {
		post(t, ep, "Users", fmt.Sprintf(plainUser, fmt.Sprintf("page%d@example.com", i)))
	}
	for _, q := range []string{"", "?count=100", "?count=2147483647", "?startIndex=1&count=4"} {
		page := search(t, ep, "/Users"+q)
		equal(t, q+" totalResults", page.Total, 5)
		equal(t, q+" itemsPerPage", page.ItemsPerPage, 3)
	}
	page := search(t, ep, "/Users?startIndex=4&count=100")
	equal(t, "last page", page.ItemsPerPage, 2)
	equal(t, "advertised maxResults", at(get(t, ep, "/ServiceProviderConfig"), "filter", "maxResults"), any(float64(3)))
}

// TestEndpointIsolation: a token of one endpoint cannot read or write another
// endpoint's resources, whether the other endpoint is in another namespace
// or in the same one.
func TestEndpointIsolation(t *testing.T) {
	t.Parallel()
	a := newEndpoint(t)
	b := op.NewEndpoint(t, testharness.Namespace(t), "idp")
	c := op.NewEndpoint(t, a.Namespace, "other")
	bUser := str(post(t, b, "Users", fmt.Sprintf(plainUser, "b-only@example.com")), "id")
	cUser := str(post(t, c, "Users", fmt.Sprintf(plainUser, "c-only@example.com")), "id")
	cGroup := str(post(t, c, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Shared Name"}`), "id")
	aGroup := str(post(t, a, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Shared Name"}`), "id")
	// Uniqueness is per endpoint: the same userName may exist in a and c.
	post(t, a, "Users", fmt.Sprintf(plainUser, "c-only@example.com"))

	// a's token on b's and c's URLs.
	for _, other := range []*testharness.Endpoint{b, c} {
		for _, path := range []string{"/Users", "/Groups", "/Users/" + bUser, "/Users/" + cUser, "/ServiceProviderConfig"} {
			expectError(t, other.DoToken(t, a.Token, "GET", path, nil), 401, "")
		}
		expectError(t, other.DoToken(t, a.Token, "POST", "/Users", fmt.Sprintf(plainUser, "intruder@example.com")), 401, "")
		expectError(t, other.DoToken(t, a.Token, "DELETE", "/Users/"+cUser, nil), 401, "")
	}
	// Other endpoints' ids through a's own URL.
	for _, id := range []string{bUser, cUser} {
		expectError(t, a.Do(t, "GET", "/Users/"+id, nil), 404, "")
		expectError(t, a.Do(t, "PUT", "/Users/"+id, fmt.Sprintf(plainUser, "taken-over@example.com")), 404, "")
		expectError(t, a.Do(t, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]}`), 404, "")
		expectError(t, a.Do(t, "DELETE", "/Users/"+id, nil), 404, "")
		equal(t, "id filter across endpoints", search(t, a, filterQuery("Users", fmt.Sprintf(`id eq %q`, id))).Total, 0)
	}
	expectError(t, a.Do(t, "GET", "/Groups/"+cGroup, nil), 404, "")
	expectError(t, a.Do(t, "DELETE", "/Groups/"+cGroup, nil), 404, "")
	equal(t, "a's users", search(t, a, "/Users").Total, 1)
	equal(t, "a's groups", len(search(t, a, "/Groups").Resources), 1)
	equal(t, "displayName filter stays in a", str(search(t, a, filterQuery("Groups", `displayName eq "Shared Name"`)).Resources[0], "id"), aGroup)
	// a cannot make c's user a member of its group.
	expectError(t, a.Do(t, "PATCH", "/Groups/"+aGroup, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "add", "path": "members", "value": [{"value": %q}]}]}`, cUser)), 400, "invalidValue")
	expectError(t, a.Do(t, "POST", "/Groups", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Smuggled",
  "members": [{"value": %q}]}`, bUser)), 400, "invalidValue")
	equal(t, "members of a's group", len(storedMembers(t, a, aGroup)), 0)
	// Everything of b and c is intact.
	equal(t, "b's user active", storedUser(t, b, bUser).Spec.Active, true)
	equal(t, "c's user active", storedUser(t, c, cUser).Spec.Active, true)
	equal(t, "c's group", storedGroup(t, c, cGroup).Spec.DisplayName, "Shared Name")
}

// rawGet sends a request line exactly as given (no client-side cleaning or
// re-encoding of the path) and returns the status and body.
func rawGet(t *testing.T, target, token string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", op.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", target, op.Addr, token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestEncodedPaths: percent-encoded slashes and dots, double encoding and
// dot segments never reach another endpoint's data: 404 or 401, never 200.
func TestEncodedPaths(t *testing.T) {
	t.Parallel()
	a := newEndpoint(t)
	b := op.NewEndpoint(t, testharness.Namespace(t), "idp")
	bUser := str(post(t, b, "Users", fmt.Sprintf(plainUser, "victim@example.com")), "id")
	pa := "/scim/v2/" + a.Namespace + "/" + a.Name
	pb := "/scim/v2/" + b.Namespace + "/" + b.Name
	for _, target := range []string{
		"/scim/v2/" + b.Namespace + "%2F" + b.Name + "/Users/" + bUser,
		"/scim/v2/" + b.Namespace + "%2f" + b.Name + "%2FUsers%2F" + bUser,
		pa + "/Users/..%2F..%2F..%2F" + b.Namespace + "%2F" + b.Name + "%2FUsers%2F" + bUser,
		pa + "/%2e%2e/%2e%2e/" + b.Namespace + "/" + b.Name + "/Users/" + bUser,
		pa + "/Users/%2e%2e",
		pa + "/Users/%252e%252e%252f%252e%252e%252f" + b.Namespace + "%252f" + b.Name + "%252fUsers%252f" + bUser,
		pa + "/../../" + b.Namespace + "/" + b.Name + "/Users/" + bUser,
		pa + "/Users/../../../" + b.Namespace + "/" + b.Name + "/Users/" + bUser,
		pa + "/./Users/" + bUser,
		pa + "/Users/" + bUser,
		pa + "/Users/" + bUser + "%00",
		pa + "%2FUsers",
		pa + "/Users%2F" + bUser,
		pa + "/%55sers/" + bUser,
		"/scim/v2/" + a.Namespace + "/" + a.Name + "%00/Users",
		"/scim/v2/" + a.Namespace + "/" + a.Name + "\\..\\..\\" + b.Namespace + "\\" + b.Name + "\\Users",
		"/scim/v2/%2e%2e/" + b.Namespace + "/" + b.Name + "/Users",
		"//scim/v2/" + b.Namespace + "/" + b.Name + "/Users/" + bUser,
		pb + "/Users/" + bUser,
		pb + "/Users?x=/../../" + a.Namespace + "/" + a.Name,
		"/scim/v2/" + b.Namespace + "/" + b.Name + "/Users/" + bUser + "?ns=" + a.Namespace,
	} {
		status, body := rawGet(t, target, a.Token)
		if status != 404 && status != 401 && status != 400 {
			t.Errorf("GET %s with a's token: %d, want 404 or 401: %.300s", target, status, body)
		}
		if strings.Contains(body, "victim@example.com") {
			t.Errorf("GET %s with a's token leaked b's user: %.300s", target, body)
		}
	}
	// b's own token with encoded variants of its own paths is refused too:
	// the endpoint a request authenticates against is exactly the one it names.
	for _, target := range []string{pb + "%2FUsers", pb + "/Users%2F" + bUser, pb + "/Users/%2e%2e"} {
		if status, body := rawGet(t, target, b.Token); status != 404 {
			t.Errorf("GET %s with b's token: %d, want 404: %.300s", target, status, body)
		}
	}
	if status, body := rawGet(t, pb+"/Users/"+bUser, b.Token); status != 200 || !strings.Contains(body, "victim@example.com") {
		t.Fatalf("plain GET with b's own token: %d %.300s", status, body)
	}
}

// TestRateLimit: an endpoint over its rate limit answers 429 with
// Retry-After and a SCIM error body; other endpoints are not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	slow := newEndpoint(t, func(e *scimv1.ScimEndpoint) {
		e.Spec.RateLimit = scimv1.RateLimit{RequestsPerSecond: 1, Burst: 1}
	})
	other := op.NewEndpoint(t, slow.Namespace, "other")
	var limited *testharness.Response
	deadline := time.Now().Add(30 * time.Second)
	for limited == nil && time.Now().Before(deadline) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := send(slow, "GET", "/Users", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("GET /Users: %v", err)
				case r.Status == 429 && limited == nil:
					limited = &r
				case r.Status != 429 && r.Status != 200:
					t.Errorf("unexpected status %d: %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
	}
	if limited == nil {
		t.Fatal("never rate limited")
	}
	expectError(t, *limited, 429, "")
	retry, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After %q, want a positive number of seconds", limited.Header.Get("Retry-After"))
	}
	search(t, other, "/Users")
	// A wrong token is refused before the limiter is consulted.
	expectError(t, slow.DoToken(t, "wrong-token-wrong-token", "GET", "/Users", nil), 401, "")
}

// TestConcurrentWrites: concurrent creates of one userName yield exactly one
// user (the rest 409 uniqueness), and concurrent member additions to one
// group all land.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	const n = 8
	responses := make([]testharness.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			responses[i], err = send(ep, "POST", "/Users", fmt.Sprintf(plainUser, []string{"race@example.com", "RACE@example.com"}[i%2]))
			if err != nil {
				t.Errorf("concurrent create: %v", err)
			}
		}()
	}
	wg.Wait()
	created := 0
	for _, r := range responses {
		switch r.Status {
		case 201:
			created++
		case 409:
			expectError(t, r, 409, "uniqueness")
		default:
			t.Fatalf("concurrent create: status %d %s", r.Status, r.Body)
		}
	}
	equal(t, "users created", created, 1)
	equal(t, "users listed", search(t, ep, "/Users").Total, 1)

	// A group this small is one shard: every concurrent PATCH writes the
	// same object.
	gid := str(post(t, ep, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Crowd"}`), "id")
	var users []string
	for i := range 40 {
		users = append(users, str(post(t, ep, "Users", fmt.Sprintf(plainUser, fmt.Sprintf("crowd%d@example.com", i))), "id"))
	}
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := send(ep, "PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "add", "path": "members", "value": [{"value": %q}]}]}`, u))
			if err != nil || r.Status != 200 && r.Status != 204 {
				t.Errorf("concurrent member add: %v %d %s", err, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	equalSlices(t, "stored members", storedMembers(t, ep, gid), sorted(users...))
	equalSlices(t, "members", values(get(t, ep, "/Groups/"+gid)["members"]), sorted(users...))
}
