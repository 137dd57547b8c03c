package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// world is what the hostile corpus is aimed at: four endpoints with a few
// users and groups each, so that other endpoints' ids, case variants of
// existing userNames and same-named groups in neighbouring endpoints exist.
//
//   - a  (faults-a-<suffix>/idp, Lenient): the target of most requests
//   - a2 (the same namespace/other): a neighbour of a, with a's alice's userName
//   - b  (faults-b-<suffix>/idp): an endpoint in another namespace
//   - s  (faults-s-<suffix>/strict, Strict): where IdP quirks are refused
type world struct {
	addr        string
	c           client.Client // uncached: reads the API server
	a, a2, b, s *testharness.Endpoint
	// ids of seeded resources, by endpoint and handle ("a/alice").
	ids map[string]string
	// users holds the SCIM bodies a's users were created from, so a PUT can
	// resend one exactly, plus hostile extras.
	users map[string]map[string]any
	seq   int
}

// namespaces are those of the world's endpoints: the state the corpus must
// leave alone lives there.
func (w *world) namespaces() []string {
	return []string{w.a.Namespace, w.b.Namespace, w.s.Namespace}
}

// id returns a seeded resource's id.
func (w *world) id(handle string) string {
	id, ok := w.ids[handle]
	if !ok {
		panic("no seeded resource " + handle)
	}
	return id
}

// fresh returns a userName or displayName no request has used yet, so a
// request that wrongly succeeds creates something the state check sees.
func (w *world) fresh(prefix string) string {
	w.seq++
	return fmt.Sprintf("%s-%04d@example.com", prefix, w.seq)
}

func userBody(userName, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []any{userURN},
		"userName":    userName,
		"externalId":  externalID,
		"name":        map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": "Ada Lovelace",
		"active":      true,
	}
}

func groupBody(displayName string, members ...string) map[string]any {
	list := []any{}
	for _, m := range members {
		list = append(list, map[string]any{"value": m})
	}
	return map[string]any{"schemas": []any{groupURN}, "displayName": displayName, "members": list}
}

// seedWorld creates the endpoints and their resources through SCIM.
func seedWorld(t *testing.T, op *testharness.Operator) *world {
	t.Helper()
	w := &world{addr: op.Addr, c: op.Client, ids: map[string]string{}, users: map[string]map[string]any{}}
	w.a = op.NewEndpoint(t, testharness.UniqueName("faults-a"), "idp")
	w.a2 = op.NewEndpoint(t, w.a.Namespace, "other")
	w.b = op.NewEndpoint(t, testharness.UniqueName("faults-b"), "idp")
	w.s = op.NewEndpoint(t, testharness.UniqueName("faults-s"), "strict", func(e *scimv1.ScimEndpoint) {
		e.Spec.Compatibility = scimv1.CompatibilityStrict
	})
	create := func(e *testharness.Endpoint, handle, resource string, body map[string]any) {
		t.Helper()
		r := e.Do(t, http.MethodPost, "/"+resource, body)
		var res struct {
			ID string `json:"id"`
		}
		if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &res) != nil || res.ID == "" {
			t.Fatalf("seeding %s: %d %s", handle, r.Status, r.Body)
		}
		w.ids[handle] = res.ID
	}
	for _, u := range []struct{ handle, userName, externalID string }{
		{"alice", "alice@example.com", "1001"},
		{"bob", "Bob.Builder@Example.com", "ext-bob"},
		{"kris", "kristoffer.ross@example.com", "ext-kris"},
	} {
		w.users[u.handle] = userBody(u.userName, u.externalID)
		create(w.a, "a/"+u.handle, "Users", w.users[u.handle])
	}
	create(w.a, "a/engineering", "Groups", groupBody("Engineering", w.id("a/alice")))
	create(w.a, "a/admins", "Groups", groupBody("Admins", w.id("a/bob")))
	create(w.a2, "a2/alice", "Users", userBody("alice@example.com", "1001"))
	create(w.a2, "a2/engineering", "Groups", groupBody("Engineering", w.id("a2/alice")))
	create(w.b, "b/carol", "Users", userBody("carol@example.com", "2001"))
	create(w.b, "b/platform", "Groups", groupBody("Platform Admins", w.id("b/carol")))
	create(w.s, "s/sam", "Users", userBody("sam@example.com", "3001"))
	create(w.s, "s/strict", "Groups", groupBody("Strict Group", w.id("s/sam")))
	return w
}

// prefix is the path of an endpoint's base URL.
func prefix(e *testharness.Endpoint) string { return "/scim/v2/" + e.Namespace + "/" + e.Name }

// call is a well-formed request to e with e's token; body (JSON-encoded
// unless it is already []byte or a string) is sent as application/scim+json.
func call(e *testharness.Endpoint, method, path string, body any) rawRequest {
	r := rawRequest{method: method, target: prefix(e) + path,
		headers: []header{{"Authorization", "Bearer " + e.Token}}}
	switch b := body.(type) {
	case nil:
		return r
	case []byte:
		r.body = b
	case string:
		r.body = []byte(b)
	default:
		r.body = mustJSON(b)
	}
	r.headers = append(r.headers, header{"Content-Type", "application/scim+json"})
	return r
}

// withHeader returns r with every field called name replaced by values (none
// removes the field).
func (r rawRequest) withHeader(name string, values ...string) rawRequest {
	out := r
	out.headers = nil
	for _, h := range r.headers {
		if http.CanonicalHeaderKey(h.name) != http.CanonicalHeaderKey(name) {
			out.headers = append(out.headers, h)
		}
	}
	for _, v := range values {
		out.headers = append(out.headers, header{name, v})
	}
	return out
}

// patchOp is a PatchOp message with the given operations.
func patchOp(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []any{patchOpURN}, "Operations": list}
}

// op is one PATCH operation; value is omitted when nil, path when "".
func op(kind, path string, value any) map[string]any {
	o := map[string]any{"op": kind}
	if path != "" {
		o["path"] = path
	}
	if value != nil {
		o["value"] = value
	}
	return o
}
