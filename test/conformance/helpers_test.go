package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// Schema and message URNs of RFC 7643/7644, spelled out rather than imported
// so the suites check the wire format independently of the server's constants.
const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	listURN       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN      = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// newEndpoint creates a ScimEndpoint named "idp" in a namespace of t's own.
func newEndpoint(t *testing.T, mutate ...func(*scimv1.ScimEndpoint)) *testharness.Endpoint {
	t.Helper()
	return op.NewEndpoint(t, testharness.Namespace(t), "idp", mutate...)
}

// expectStatus fails the test unless r has the wanted status.
func expectStatus(t testing.TB, r testharness.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
}

// expectSCIMContentType checks the media type RFC 7644 §3.1 requires.
func expectSCIMContentType(t testing.TB, r testharness.Response) {
	t.Helper()
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/scim+json" {
		t.Fatalf("Content-Type %q, want application/scim+json", r.Header.Get("Content-Type"))
	}
}

// ok checks status and media type and decodes the body.
func ok(t testing.TB, r testharness.Response, status int) map[string]any {
	t.Helper()
	expectStatus(t, r, status)
	expectSCIMContentType(t, r)
	return r.JSON(t)
}

// expectError checks an RFC 7644 §3.12 error response: the Error schema,
// status as a string, a detail, and scimType when one is wanted.
func expectError(t testing.TB, r testharness.Response, status int, scimType string) map[string]any {
	t.Helper()
	expectStatus(t, r, status)
	expectSCIMContentType(t, r)
	m := r.JSON(t)
	if !slices.Contains(strs(m["schemas"]), errorURN) {
		t.Fatalf("error schemas %v do not contain %s", m["schemas"], errorURN)
	}
	if s, isString := m["status"].(string); !isString || s != strconv.Itoa(status) {
		t.Fatalf("error status %#v, want the string %q", m["status"], strconv.Itoa(status))
	}
	if d, _ := m["detail"].(string); d == "" {
		t.Fatalf("error without detail: %s", r.Body)
	}
	if scimType != "" && m["scimType"] != scimType {
		t.Fatalf("scimType %v, want %s; body: %s", m["scimType"], scimType, r.Body)
	}
	return m
}

// at walks decoded JSON: string steps are object keys, int steps indexes.
func at(v any, path ...any) any {
	for _, step := range path {
		switch s := step.(type) {
		case string:
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil
			}
			v = m[s]
		case int:
			l, isList := v.([]any)
			if !isList || s >= len(l) {
				return nil
			}
			v = l[s]
		}
	}
	return v
}

// str is at for string values; "" when absent.
func str(v any, path ...any) string {
	s, _ := at(v, path...).(string)
	return s
}

// strs converts a JSON array of strings.
func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		if s, isString := e.(string); isString {
			out = append(out, s)
		}
	}
	return out
}

// values collects the "value" sub-attribute of a multi-valued attribute, sorted.
func values(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, str(e, "value"))
	}
	slices.Sort(out)
	return out
}

// sorted returns a sorted copy.
func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// listPage is a decoded ListResponse.
type listPage struct {
	Total, StartIndex, ItemsPerPage int
	Resources                       []map[string]any
}

// search GETs a list URL and checks the ListResponse shape: schema, integer
// totalResults/startIndex/itemsPerPage, itemsPerPage equal to the number of
// Resources.
func search(t testing.TB, ep *testharness.Endpoint, path string) listPage {
	t.Helper()
	r := ep.Do(t, "GET", path, nil)
	ok(t, r, 200)
	return decodeList(t, r.Body)
}

func decodeList(t testing.TB, body []byte) listPage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("ListResponse is not JSON: %v: %s", err, body)
	}
	if !slices.Contains(strs(raw["schemas"]), listURN) {
		t.Fatalf("ListResponse schemas %v lack %s", raw["schemas"], listURN)
	}
	integer := func(key string) int {
		n, isNumber := raw[key].(json.Number)
		if !isNumber || strings.ContainsAny(n.String(), ".eE") {
			t.Fatalf("%s is %#v, want a JSON integer: %s", key, raw[key], body)
		}
		i, _ := n.Int64()
		return int(i)
	}
	p := listPage{Total: integer("totalResults"), StartIndex: integer("startIndex"), ItemsPerPage: integer("itemsPerPage")}
	var plain struct {
		Resources []map[string]any `json:"Resources"`
	}
	if err := json.Unmarshal(body, &plain); err != nil {
		t.Fatal(err)
	}
	p.Resources = plain.Resources
	if p.ItemsPerPage != len(p.Resources) {
		t.Fatalf("itemsPerPage %d but %d Resources", p.ItemsPerPage, len(p.Resources))
	}
	return p
}

// filterQuery builds a query string with a URL-encoded filter and extra
// key=value pairs (already encoded).
func filterQuery(resource, filter string, extra ...string) string {
	q := "/" + resource + "?filter=" + url.QueryEscape(filter)
	for _, e := range extra {
		q += "&" + e
	}
	return q
}

// ids lists the ids of list resources, sorted.
func ids(res []map[string]any) []string {
	out := make([]string, 0, len(res))
	for _, r := range res {
		out = append(out, str(r, "id"))
	}
	slices.Sort(out)
	return out
}

// post creates a resource and returns it after checking 201, Location and ETag.
func post(t testing.TB, ep *testharness.Endpoint, resource, body string) map[string]any {
	t.Helper()
	r := ep.Do(t, "POST", "/"+resource, body)
	m := ok(t, r, 201)
	id := str(m, "id")
	if id == "" {
		t.Fatalf("created %s has no id: %s", resource, r.Body)
	}
	if loc := r.Header.Get("Location"); loc != ep.BaseURL+"/"+resource+"/"+id || loc != str(m, "meta", "location") {
		t.Fatalf("Location %q, meta.location %q, want %s/%s/%s", loc, str(m, "meta", "location"), ep.BaseURL, resource, id)
	}
	if et := r.Header.Get("ETag"); !strings.HasPrefix(et, `W/"`) || et != str(m, "meta", "version") {
		t.Fatalf("ETag %q, meta.version %q: want the same weak ETag", et, str(m, "meta", "version"))
	}
	return m
}

// get reads one resource and checks 200.
func get(t testing.TB, ep *testharness.Endpoint, path string) map[string]any {
	t.Helper()
	return ok(t, ep.Do(t, "GET", path, nil), 200)
}

// patchOK sends a PATCH and returns the resource: from the 200 body, or read
// back with GET after a 204 (allowed for groups).
func patchOK(t testing.TB, ep *testharness.Endpoint, path, body string) map[string]any {
	t.Helper()
	r := ep.Do(t, "PATCH", path, body)
	if r.Status == 204 {
		return get(t, ep, path)
	}
	return ok(t, r, 200)
}

// send is Endpoint.Do for goroutines other than the test's: it reports a
// transport error instead of failing the test, and decodes nothing.
func send(ep *testharness.Endpoint, method, path, body string) (testharness.Response, error) {
	req, err := http.NewRequest(method, ep.BaseURL+path, strings.NewReader(body))
	if err != nil {
		return testharness.Response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+ep.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := ep.HTTP.Do(req)
	if err != nil {
		return testharness.Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return testharness.Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// storedUser reads a ScimUser from the API server.
func storedUser(t testing.TB, ep *testharness.Endpoint, id string) *scimv1.ScimUser {
	t.Helper()
	var u scimv1.ScimUser
	if err := op.Client.Get(context.Background(), types.NamespacedName{Namespace: ep.Namespace, Name: id}, &u); err != nil {
		t.Fatalf("getting ScimUser %s: %v", id, err)
	}
	return &u
}

// storedGroup reads a ScimGroup from the API server.
func storedGroup(t testing.TB, ep *testharness.Endpoint, id string) *scimv1.ScimGroup {
	t.Helper()
	var g scimv1.ScimGroup
	if err := op.Client.Get(context.Background(), types.NamespacedName{Namespace: ep.Namespace, Name: id}, &g); err != nil {
		t.Fatalf("getting ScimGroup %s: %v", id, err)
	}
	return &g
}

// storedMembers lists the member ids of a group's ScimMembership shards, sorted.
func storedMembers(t testing.TB, ep *testharness.Endpoint, groupID string) []string {
	t.Helper()
	var list scimv1.ScimMembershipList
	if err := op.Client.List(context.Background(), &list, client.InNamespace(ep.Namespace),
		client.MatchingLabels{scimv1.LabelGroup: groupID}); err != nil {
		t.Fatalf("listing ScimMemberships: %v", err)
	}
	var out []string
	for _, sh := range list.Items {
		if sh.Spec.Group != groupID {
			t.Fatalf("shard %s labelled for %s belongs to %s", sh.Name, groupID, sh.Spec.Group)
		}
		for _, m := range sh.Spec.Members {
			out = append(out, m.Value)
		}
	}
	slices.Sort(out)
	return out
}

// rawObject returns the JSON of a stored object (or part of one), to search it
// for values that must never be stored.
func rawObject(t testing.TB, obj any) string {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// newID returns a random id that no resource has.
func newID() string { return uuid.NewString() }

// equal fails the test when got and want differ.
func equal[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// equalSlices fails the test when got and want differ.
func equalSlices[T comparable](t testing.TB, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}
