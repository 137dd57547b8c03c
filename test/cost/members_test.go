package cost

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

const (
	userURN    = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN   = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// A request's member ids are resolved once each, from the cache, whatever
// kind they are: naming one group thousands of times, or many groups once
// each, costs no read past the cache.
func TestMemberIDsResolvedFromTheCache(t *testing.T) {
	e := newEndpoint(t)
	user := create(t, e, "Users", map[string]any{"schemas": []string{userURN}, "userName": "ada@example.com"})
	nested := create(t, e, "Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "nested"})

	t.Run("POST /Groups naming one group and one user 5,000 times each", func(t *testing.T) {
		members := make([]map[string]string, 0, 10_000)
		for range 5_000 {
			members = append(members, map[string]string{"value": nested}, map[string]string{"value": user})
		}
		var r testharness.Response
		n := liveReads(func() {
			r = e.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "dups", "members": members})
		})
		t.Logf("POST /Groups with 10,000 member values, 2 distinct: %d reads past the cache", n)
		expectStatus(t, r, 201)
		if got := memberCount(t, r); got != 2 {
			t.Errorf("the group has %d members, want 2", got)
		}
		if n > maxOverhead {
			t.Errorf("%d reads past the cache, want at most %d", n, maxOverhead)
		}
	})

	t.Run("a PATCH of 1,000 operations adding the same group", func(t *testing.T) {
		target := create(t, e, "Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "target"})
		ops := make([]map[string]any, 1_000)
		for i := range ops {
			ops[i] = map[string]any{"op": "add", "path": "members", "value": []map[string]string{{"value": nested}}}
		}
		var r testharness.Response
		n := liveReads(func() {
			r = e.Do(t, "PATCH", "/Groups/"+target, map[string]any{"schemas": []string{patchOpURN}, "Operations": ops})
		})
		t.Logf("PATCH with 1,000 operations naming one group: %d reads past the cache", n)
		if r.Status != 200 && r.Status != 204 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if n > maxOverhead {
			t.Errorf("%d reads past the cache, want at most %d", n, maxOverhead)
		}
	})

	t.Run("a PATCH adding 150 distinct groups", func(t *testing.T) {
		target := create(t, e, "Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "parent"})
		var value []map[string]string
		for i := range 150 {
			id := create(t, e, "Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "child-" + strconv.Itoa(i)})
			value = append(value, map[string]string{"value": id})
		}
		var r testharness.Response
		n := liveReads(func() {
			r = e.Do(t, "PATCH", "/Groups/"+target, map[string]any{"schemas": []string{patchOpURN},
				"Operations": []map[string]any{{"op": "add", "path": "members", "value": value}}})
		})
		t.Logf("PATCH adding 150 distinct groups: %d reads past the cache", n)
		if r.Status != 200 && r.Status != 204 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if n > maxOverhead {
			t.Errorf("%d reads past the cache, want at most %d", n, maxOverhead)
		}
	})
}

// More member values than a request may carry are refused before any is
// looked up, with tooMany: the server will not process that many, and the
// client can split them over several requests.
func TestTooManyMembersRefused(t *testing.T) {
	e := newEndpoint(t)
	nested := create(t, e, "Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "nested"})
	members := make([]map[string]string, 15_000)
	for i := range members {
		members[i] = map[string]string{"value": nested}
	}
	var r testharness.Response
	n := liveReads(func() {
		r = e.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "many", "members": members})
	})
	t.Logf("POST /Groups with 15,000 member values: status %d, %d reads past the cache", r.Status, n)
	expectError(t, r, 400, "tooMany")
	if n > maxOverhead {
		t.Errorf("%d reads past the cache, want at most %d", n, maxOverhead)
	}
}

// maxOverhead is the most reads past the cache a group write may make
// whatever its members: uniqueness claims and shard re-reads after a
// conflict (none in these tests: nothing else writes). Before member ids
// were de-duplicated and resolved from the cache as users or groups, the
// requests below made 5,001, 1,001 and 300 reads.
const maxOverhead = 10

func create(t *testing.T, e *testharness.Endpoint, resource string, body map[string]any) string {
	t.Helper()
	r := e.Do(t, "POST", "/"+resource, body)
	expectStatus(t, r, 201)
	var m struct{ ID string }
	if err := json.Unmarshal(r.Body, &m); err != nil || m.ID == "" {
		t.Fatalf("created %s without an id: %s", resource, r.Body)
	}
	return m.ID
}

func memberCount(t *testing.T, r testharness.Response) int {
	t.Helper()
	var m struct{ Members []any }
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	return len(m.Members)
}

func expectStatus(t *testing.T, r testharness.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %.500s", r.Status, want, r.Body)
	}
}

func expectError(t *testing.T, r testharness.Response, status int, scimType string) {
	t.Helper()
	expectStatus(t, r, status)
	var m struct{ ScimType, Detail string }
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	if m.ScimType != scimType || m.Detail == "" {
		t.Fatalf("scimType %q detail %q, want scimType %q and a detail", m.ScimType, m.Detail, scimType)
	}
}

// newEndpoint creates an endpoint in a namespace of its own.
func newEndpoint(t *testing.T) *testharness.Endpoint {
	t.Helper()
	return op.NewEndpoint(t, "cost-"+strconv.FormatInt(seq.Add(1), 10), "idp")
}

var seq atomic.Int64
