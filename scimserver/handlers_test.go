package scimserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// The golden tests pin what the SCIM handlers render — status, the headers a
// client acts on and the JSON body — for a fixed set of stored objects.
// `go test ./scimserver -run Golden -update` rewrites testdata/golden from
// the responses; review the diff against RFC 7643/7644 before committing it.
// Behaviour against a real API server (lists, writes, caching) is proven in
// test/conformance; these tests prove the rendering.
var update = flag.Bool("update", false, "rewrite scimserver/testdata/golden from the responses")

const (
	goldenNamespace = "tenant-a"
	goldenEndpoint  = "okta"
	goldenToken     = "golden-9f2c4e7a1b3d5f8092c4e6a8b0d2f4e6"
	goldenBase      = "/scim/v2/" + goldenNamespace + "/" + goldenEndpoint
)

// goldenHeaders are the response headers a golden file records.
var goldenHeaders = []string{"Content-Type", "ETag", "Location", "Retry-After", "WWW-Authenticate", "Allow"}

type goldenCase struct {
	name   string
	method string
	path   string // under goldenBase unless it starts with "!"
	body   string
	noAuth bool
	header map[string]string
	// stamped: the response's meta.lastModified is the time of the write
	// (scimv1.Stamp); it is checked to be that and recorded as a placeholder.
	stamped bool
}

func TestGoldenReads(t *testing.T) {
	for _, tc := range []goldenCase{
		{name: "user_get", method: http.MethodGet, path: "/Users/user-alice"},
		{name: "user_get_inactive_no_lastmodified", method: http.MethodGet, path: "/Users/user-bob"},
		{name: "user_get_attributes_username", method: http.MethodGet, path: "/Users/user-alice?attributes=userName"},
		{name: "user_get_excluded_groups_emails", method: http.MethodGet, path: "/Users/user-alice?excludedAttributes=groups,emails"},
		{name: "group_get", method: http.MethodGet, path: "/Groups/group-eng"},
		{name: "group_get_excluded_members", method: http.MethodGet, path: "/Groups/group-eng?excludedAttributes=members"},
		{name: "service_provider_config", method: http.MethodGet, path: "/ServiceProviderConfig"},
		{name: "resource_types", method: http.MethodGet, path: "/ResourceTypes"},
		{name: "resource_type_user", method: http.MethodGet, path: "/ResourceTypes/User"},
		{name: "schemas", method: http.MethodGet, path: "/Schemas"},
		{name: "schema_group", method: http.MethodGet, path: "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"},
		{name: "resource_type_role", method: http.MethodGet, path: "/ResourceTypes/Role"},
		{name: "schema_role", method: http.MethodGet, path: "/Schemas/urn:okta:scim:schemas:core:1.0:Role"},
		{name: "role_get", method: http.MethodGet, path: "/Roles/payments-deployer"},
	} {
		t.Run(tc.name, func(t *testing.T) { runGolden(t, newGoldenServer(t), tc) })
	}
}

// TestGoldenLists covers listings, which the Store reads from the informers'
// indexers (indexedInformers here).
func TestGoldenLists(t *testing.T) {
	for _, tc := range []goldenCase{
		{name: "users_list_page", method: http.MethodGet, path: "/Users?startIndex=2&count=1"},
		{name: "users_list_filter_username_any_case", method: http.MethodGet,
			path: "/Users?filter=" + url.QueryEscape(`userName eq "ALICE@example.com"`) + "&attributes=userName,emails"},
		{name: "users_list_filter_no_match", method: http.MethodGet, path: "/Users?filter=" + url.QueryEscape(`externalId eq "nobody"`)},
		{name: "users_list_filter_sorted_descending", method: http.MethodGet,
			path: "/Users?filter=" + url.QueryEscape(`userName sw "a" or userName sw "b"`) + "&sortBy=userName&sortOrder=descending&attributes=userName"},
		{name: "groups_list_filter_displayname_excluded_members", method: http.MethodGet,
			path: "/Groups?filter=" + url.QueryEscape(`displayName eq "Engineering"`) + "&excludedAttributes=members"},
		{name: "groups_list_filter_member", method: http.MethodGet,
			path: "/Groups?filter=" + url.QueryEscape(`members[value eq "user-bob"]`) + "&attributes=displayName"},
		{name: "roles_list", method: http.MethodGet, path: "/Roles"},
		{name: "roles_list_page", method: http.MethodGet, path: "/Roles?count=1&startIndex=1"},
	} {
		t.Run(tc.name, func(t *testing.T) { runGolden(t, newGoldenServer(t), tc) })
	}
}

func TestGoldenErrors(t *testing.T) {
	for _, tc := range []goldenCase{
		{name: "error_401_no_token", method: http.MethodGet, path: "/Users/user-alice", noAuth: true},
		{name: "error_404_unknown_user", method: http.MethodGet, path: "/Users/user-nobody"},
		{name: "error_404_user_of_other_endpoint", method: http.MethodGet, path: "/Users/user-carol"},
		{name: "error_404_unknown_group", method: http.MethodGet, path: "/Groups/group-nobody"},
		{name: "error_404_unknown_schema", method: http.MethodGet, path: "/Schemas/urn:example:nothing"},
		{name: "error_400_invalid_filter", method: http.MethodGet, path: "/Users?filter=userName%20zz%20%22alice%22"},
		{name: "error_400_invalid_syntax_post_user", method: http.MethodPost, path: "/Users", body: `{"schemas": [`},
		{name: "error_400_invalid_syntax_patch_group", method: http.MethodPatch, path: "/Groups/group-eng", body: `not json`},
		{name: "error_405_put_collection", method: http.MethodPut, path: "/Users"},
		{name: "error_405_post_group", method: http.MethodPost, path: "/Groups/group-eng", body: `{}`},
		{name: "error_405_post_service_provider_config", method: http.MethodPost, path: "/ServiceProviderConfig", body: `{}`},
		{name: "error_404_unknown_resource", method: http.MethodGet, path: "/Widgets"},
		{name: "error_404_outside_prefix", method: http.MethodGet, path: "!/scim/v1/Users"},
		{name: "error_404_unknown_role", method: http.MethodGet, path: "/Roles/cluster-admin"},
		{name: "error_404_role_of_other_endpoint", method: http.MethodGet, path: "/Roles/entra-reader"},
		{name: "error_405_post_roles", method: http.MethodPost, path: "/Roles", body: `{"displayName": "x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) { runGolden(t, newGoldenServer(t), tc) })
	}
}

// TestGoldenWrites covers writes. The fake client creates objects at once,
// and the Store without Follow polls the cache (here the client) after each
// write, which already holds it. Objects the API server would give a
// creationTimestamp get createdAt (see newGoldenServer).
func TestGoldenWrites(t *testing.T) {
	const patchOp = `"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
	for _, tc := range []goldenCase{
		{name: "user_post", method: http.MethodPost, path: "/Users", stamped: true, body: `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"userName": "dana@example.com", "externalId": "00u4dana", "password": "never stored",
			"name": {"givenName": "Dana", "familyName": "Scully"},
			"emails": [{"value": "dana@example.com", "type": "work", "primary": true}],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Research"}}`},
		{name: "user_patch_deactivate", method: http.MethodPatch, path: "/Users/user-alice", stamped: true,
			body: `{` + patchOp + `, "Operations": [{"op": "replace", "path": "active", "value": false}]}`},
		{name: "user_patch_if_match_stale", method: http.MethodPatch, path: "/Users/user-alice",
			header: map[string]string{"If-Match": `W/"999"`},
			body:   `{` + patchOp + `, "Operations": [{"op": "replace", "path": "active", "value": false}]}`},
		{name: "user_put_unknown", method: http.MethodPut, path: "/Users/user-nobody",
			body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "nobody@example.com"}`},
		{name: "user_delete", method: http.MethodDelete, path: "/Users/user-bob"},
		{name: "group_post_with_member", method: http.MethodPost, path: "/Groups", stamped: true, body: `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
			"displayName": "Design", "members": [{"value": "user-alice"}]}`},
		{name: "group_post_unknown_member", method: http.MethodPost, path: "/Groups", body: `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
			"displayName": "Design", "members": [{"value": "user-nobody"}]}`},
		{name: "group_patch_add_member", method: http.MethodPatch, path: "/Groups/group-ops",
			body: `{` + patchOp + `, "Operations": [{"op": "add", "path": "members", "value": [{"value": "user-bob"}]}]}`},
		{name: "group_patch_add_member_attributes", method: http.MethodPatch, path: "/Groups/group-ops?attributes=members",
			body: `{` + patchOp + `, "Operations": [{"op": "add", "path": "members", "value": [{"value": "user-bob"}]}]}`},
		{name: "user_patch_grant_role", method: http.MethodPatch, path: "/Users/user-bob", stamped: true,
			body: `{` + patchOp + `, "Operations": [{"op": "add", "path": "roles", "value": [
				{"value": "payments-deployer", "display": "Payments deployer"}, {"value": "payments-deployer"}]}]}`},
		{name: "user_patch_unknown_role", method: http.MethodPatch, path: "/Users/user-bob",
			body: `{` + patchOp + `, "Operations": [{"op": "add", "path": "roles", "value": [{"value": "cluster-admin"}]}]}`},
		{name: "user_post_role_of_other_endpoint", method: http.MethodPost, path: "/Users", body: `{
			"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName": "erin@example.com", "roles": [{"value": "entra-reader"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) { runGolden(t, newGoldenServer(t), tc) })
	}
}

// TestGoldenShed pins the answer of a server at its in-flight cap: 503 with
// Retry-After, before authentication.
func TestGoldenShed(t *testing.T) {
	s := newGoldenServer(t)
	for range cap(s.inFlight) {
		s.inFlight <- struct{}{}
	}
	runGolden(t, s, goldenCase{name: "error_503_in_flight", method: http.MethodGet, path: "/Users/user-alice"})
}

// runGolden serves one request and compares the response with its golden file.
func runGolden(t *testing.T, s *Server, tc goldenCase) {
	t.Helper()
	target := goldenBase + tc.path
	if strings.HasPrefix(tc.path, "!") {
		target = tc.path[1:]
	}
	var body *strings.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	r := httptest.NewRequest(tc.method, target, nil)
	if body != nil {
		r = httptest.NewRequest(tc.method, target, body)
		r.Header.Set("Content-Type", "application/scim+json")
	}
	if !tc.noAuth {
		r.Header.Set("Authorization", "Bearer "+goldenToken)
	}
	for k, v := range tc.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	before := time.Now()
	s.Handler().ServeHTTP(w, r)
	after := time.Now()
	var stamped *timeRange
	if tc.stamped {
		stamped = &timeRange{before, after}
	}
	compareGolden(t, tc.name, renderResponse(t, w.Result(), stamped))
}

// timeRange is when a request was served.
type timeRange struct{ from, to time.Time }

// stampPlaceholder stands for a meta.lastModified stamped by the write.
const stampPlaceholder = "<the time of the write>"

// replaceStamp checks that body's meta.lastModified was stamped within
// served (at the precision of scimv1.StampFormat) and replaces it with
// stampPlaceholder.
func replaceStamp(t *testing.T, body any, served timeRange) {
	t.Helper()
	obj, _ := body.(map[string]any)
	meta, _ := obj["meta"].(map[string]any)
	s, _ := meta["lastModified"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("meta.lastModified %q is not an RFC 3339 time: %v", s, err)
	}
	if at.Before(served.from.Truncate(time.Millisecond)) || at.After(served.to) {
		t.Fatalf("meta.lastModified %s is not the time of the write (%s to %s)", at, served.from, served.to)
	}
	meta["lastModified"] = stampPlaceholder
}

// renderResponse is the canonical form of a response a golden file holds:
// its status, the headers of goldenHeaders it carries and its body as JSON.
// A stamped response's meta.lastModified is replaced (replaceStamp).
func renderResponse(t *testing.T, res *http.Response, stamped *timeRange) []byte {
	t.Helper()
	headers := map[string]string{}
	for _, h := range goldenHeaders {
		if v := res.Header.Values(h); len(v) > 0 {
			headers[h] = strings.Join(v, ", ")
		}
	}
	raw := new(bytes.Buffer)
	if _, err := raw.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	var body any
	if raw.Len() > 0 {
		dec := json.NewDecoder(raw)
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("the response body is not JSON: %v\n%s", err, raw)
		}
		if dec.More() {
			t.Fatalf("the response body has data after its JSON value")
		}
	}
	if stamped != nil {
		replaceStamp(t, body, *stamped)
	}
	// encoding/json writes map keys sorted: the form is canonical.
	out, err := json.MarshalIndent(map[string]any{"status": res.StatusCode, "headers": headers, "body": body}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("response differs from %s (-want +got):\n%s", path, diff)
	}
}

// newGoldenServer returns a server over a fake client holding goldenObjects,
// with one endpoint (tenant-a/okta) holding goldenToken.
func newGoldenServer(t *testing.T) *Server {
	t.Helper()
	ctx := context.Background()
	scheme := runtime.NewScheme()
	if err := scimv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := goldenObjects()
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithInterceptorFuncs(interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			obj.SetCreationTimestamp(createdAt) // as the API server sets it
			return c.Create(ctx, obj, opts...)
		}})
	if err := scimstore.RegisterIndexes(ctx, clientIndexes{b}); err != nil {
		t.Fatal(err)
	}
	// The API server's selectable field of ScimEntitlements.
	b.WithIndex(&scimv1.ScimEntitlement{}, "spec.endpoint", func(o client.Object) []string {
		return []string{o.(*scimv1.ScimEntitlement).Spec.Endpoint}
	})
	c := b.Build()
	informers := &indexedInformers{informers: map[reflect.Type]*indexedInformer{}}
	if err := scimstore.RegisterIndexes(ctx, informers); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := informers.informerOf(o).indexer.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	reg := NewRegistry()
	putEndpoint(reg, &Endpoint{Key: types.NamespacedName{Namespace: goldenNamespace, Name: goldenEndpoint}, MaxPageSize: 100}, goldenToken)
	// Ids without the id epoch keep the golden ids the same from one day to
	// the next; epoch ids are scimstore's to test.
	return New(Options{ExternalURL: "https://scim.example.com", MaxInFlight: 4, TombstoneTTL: -1}, c, c, informers, reg, logr.Discard())
}

// putEndpoint serves ep with one token, as RegistryReconciler would after
// loading its Secret "scim-token" (key "token"), without a rate limit that a
// test could reach.
func putEndpoint(reg *Registry, ep *Endpoint, token string) {
	ep.Tokens = []scimstore.Token{{ID: "scim-token/token", Hash: sha256.Sum256([]byte(token))}}
	reg.Set(ep, 1000, 1000)
}

// clientIndexes registers scimstore's indexes with a fake client builder.
type clientIndexes struct{ b *fake.ClientBuilder }

func (c clientIndexes) IndexField(_ context.Context, obj client.Object, field string, fn client.IndexerFunc) error {
	c.b.WithIndex(obj, field, fn)
	return nil
}

// indexedInformers stands in for the manager's cache where the Store reads
// it directly: an informer per kind whose indexer holds the seeded objects
// under the indexes scimstore.RegisterIndexes adds, in the cache's own key
// format. Any other method of the cache panics (the embedded nil interface).
type indexedInformers struct {
	cache.Cache
	informers map[reflect.Type]*indexedInformer
}

func (f *indexedInformers) informerOf(obj client.Object) *indexedInformer {
	t := reflect.TypeOf(obj)
	if f.informers[t] == nil {
		f.informers[t] = &indexedInformer{indexer: toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})}
	}
	return f.informers[t]
}

func (f *indexedInformers) GetInformer(_ context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	return f.informerOf(obj), nil
}

type indexedInformer struct {
	cache.Informer
	indexer toolscache.Indexer
}

func (i *indexedInformer) AddIndexers(ix toolscache.Indexers) error { return i.indexer.AddIndexers(ix) }
func (i *indexedInformer) GetIndexer() toolscache.Indexer           { return i.indexer }

// createdAt is the creationTimestamp of objects the tests create.
var createdAt = metav1.Date(2024, 6, 7, 8, 9, 10, 0, time.UTC)

// goldenObjects are the stored objects every golden test starts from. Their
// creationTimestamp, resourceVersion and last-modified annotation are fixed,
// so the rendering is deterministic.
func goldenObjects() []client.Object {
	created := metav1.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	objMeta := func(name, rv, lastModified string) metav1.ObjectMeta {
		om := metav1.ObjectMeta{Namespace: goldenNamespace, Name: name, ResourceVersion: rv, CreationTimestamp: created,
			Labels: map[string]string{scimv1.LabelEndpoint: goldenEndpoint}}
		if lastModified != "" {
			om.Annotations = map[string]string{scimv1.AnnotationLastModified: lastModified}
		}
		return om
	}
	alice := &scimv1.ScimUser{ObjectMeta: objMeta("user-alice", "1001", "2024-02-03T04:05:06Z"), Spec: scimv1.ScimUserSpec{
		Endpoint: goldenEndpoint, UserName: "alice@example.com", ExternalID: "00u1alice", Active: true,
		Name:        &scimv1.Name{Formatted: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell"},
		DisplayName: "Alice Liddell",
		Emails: []scimv1.MultiValuedAttribute{
			{Value: "alice@example.com", Type: "work", Primary: true},
			{Value: "alice@home.example", Type: "home"},
		},
		Enterprise: &scimv1.EnterpriseUser{EmployeeNumber: "701984", Department: "Engineering",
			Manager: &scimv1.Manager{Value: "user-bob", DisplayName: "Bob Builder"}},
	}}
	bob := &scimv1.ScimUser{ObjectMeta: objMeta("user-bob", "1002", ""), Spec: scimv1.ScimUserSpec{
		Endpoint: goldenEndpoint, UserName: "bob@example.com", Active: false,
	}}
	carol := &scimv1.ScimUser{ObjectMeta: objMeta("user-carol", "1003", ""), Spec: scimv1.ScimUserSpec{
		Endpoint: "entra", UserName: "carol@example.com", Active: true,
	}}
	carol.Labels[scimv1.LabelEndpoint] = "entra"
	eng := &scimv1.ScimGroup{ObjectMeta: objMeta("group-eng", "2001", "2024-03-04T05:06:07Z"),
		Spec: scimv1.ScimGroupSpec{Endpoint: goldenEndpoint, DisplayName: "Engineering", ExternalID: "00g1eng"}}
	ops := &scimv1.ScimGroup{ObjectMeta: objMeta("group-ops", "2002", ""),
		Spec: scimv1.ScimGroupSpec{Endpoint: goldenEndpoint, DisplayName: "Operations"}}
	deployer := &scimv1.ScimEntitlement{ObjectMeta: objMeta("payments-deployer", "4001", ""), Spec: scimv1.ScimEntitlementSpec{
		Endpoint: goldenEndpoint, DisplayName: "Payments deployer",
		Description: "Deploy to the payments namespaces; read access to the whole cluster."}}
	auditor := &scimv1.ScimEntitlement{ObjectMeta: objMeta("auditor", "4002", ""), Spec: scimv1.ScimEntitlementSpec{
		Endpoint: goldenEndpoint, DisplayName: "Auditor"}}
	entraReader := &scimv1.ScimEntitlement{ObjectMeta: objMeta("entra-reader", "4003", ""), Spec: scimv1.ScimEntitlementSpec{
		Endpoint: "entra", DisplayName: "Reader"}}
	objs := []client.Object{alice, bob, carol, eng, ops, deployer, auditor, entraReader}
	objs = append(objs, goldenShards(objMeta, "group-eng", []scimv1.Member{
		{Value: "user-alice"}, {Value: "user-bob"}, {Value: "group-ops", Type: "Group"}})...)
	objs = append(objs, goldenShards(objMeta, "group-ops", []scimv1.Member{{Value: "user-alice"}})...)
	return objs
}

// goldenShards lays a group's members out over its membership shards as
// the Store does (scimstore.LayoutShards).
func goldenShards(objMeta func(name, rv, lastModified string) metav1.ObjectMeta, group string, members []scimv1.Member) []client.Object {
	var out []client.Object
	for _, sh := range scimstore.LayoutShards(group, members) {
		om := objMeta(sh.Name, "3001", "")
		om.Labels[scimv1.LabelGroup] = group
		sh.ObjectMeta = om
		out = append(out, sh)
	}
	return out
}
