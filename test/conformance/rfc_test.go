package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

const plainUser = `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": %q, "active": true}`

// TestETags: weak ETags on every read and write; If-Match with the current
// ETag (or *) succeeds, an outdated one is 412 for PUT, PATCH and DELETE on
// users and groups and changes nothing.
func TestETags(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(post(t, ep, "Users", fmt.Sprintf(plainUser, "etag@example.com")), "id")
	r := ep.Do(t, "GET", "/Users/"+id, nil)
	first := r.Header.Get("ETag")
	if !strings.HasPrefix(first, `W/"`) || first != str(ok(t, r, 200), "meta", "version") {
		t.Fatalf("ETag %q does not match meta.version", first)
	}

	put := `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "etag@example.com", "title": "%s"}`
	r = ep.Do(t, "PUT", "/Users/"+id, fmt.Sprintf(put, "One"), "If-Match", first)
	second := r.Header.Get("ETag")
	equal(t, "title", str(ok(t, r, 200), "title"), "One")
	if second == first || second != `W/"`+storedUser(t, ep, id).ResourceVersion+`"` {
		t.Fatalf("ETag after PUT %q (before %q) is not the new version", second, first)
	}

	patch := `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "Stale"}]}`
	expectError(t, ep.Do(t, "PUT", "/Users/"+id, fmt.Sprintf(put, "Stale"), "If-Match", first), 412, "")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, patch, "If-Match", first), 412, "")
	expectError(t, ep.Do(t, "DELETE", "/Users/"+id, nil, "If-Match", first), 412, "")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, patch, "If-Match", `W/"1", W/"2"`), 412, "")
	equal(t, "title after refused writes", storedUser(t, ep, id).Spec.Title, "One")

	// Several tags, and the strong form of the current one, match.
	r = ep.Do(t, "PATCH", "/Users/"+id, strings.Replace(patch, "Stale", "Two", 1), "If-Match", first+", "+second)
	equal(t, "title", str(ok(t, r, 200), "title"), "Two")
	third := r.Header.Get("ETag")
	r = ep.Do(t, "PATCH", "/Users/"+id, strings.Replace(patch, "Stale", "Three", 1), "If-Match", strings.TrimPrefix(third, "W/"))
	equal(t, "title", str(ok(t, r, 200), "title"), "Three")
	r = ep.Do(t, "PATCH", "/Users/"+id, strings.Replace(patch, "Stale", "Four", 1), "If-Match", "*")
	equal(t, "title", str(ok(t, r, 200), "title"), "Four")

	gid := str(post(t, ep, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "ETagged"}`), "id")
	r = ep.Do(t, "GET", "/Groups/"+gid, nil)
	gtag := r.Header.Get("ETag")
	equal(t, "group ETag", gtag, str(ok(t, r, 200), "meta", "version"))
	rename := `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": %q}]}`
	r = ep.Do(t, "PATCH", "/Groups/"+gid, fmt.Sprintf(rename, "ETagged 2"), "If-Match", gtag)
	if r.Status != 200 && r.Status != 204 {
		t.Fatalf("group PATCH with the current ETag: %d %s", r.Status, r.Body)
	}
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+gid, fmt.Sprintf(rename, "ETagged 3"), "If-Match", gtag), 412, "")
	expectError(t, ep.Do(t, "DELETE", "/Groups/"+gid, nil, "If-Match", gtag), 412, "")
	equal(t, "group name", storedGroup(t, ep, gid).Spec.DisplayName, "ETagged 2")

	// A member change is a change of the group: its ETag moves, and a
	// client holding the old one gets 412.
	r = ep.Do(t, "GET", "/Groups/"+gid, nil)
	before := r.Header.Get("ETag")
	uid := str(post(t, ep, "Users", fmt.Sprintf(plainUser, "etag-member@example.com")), "id")
	addMember := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": %q}]}]}`, uid)
	// A group PATCH answers 204 (RFC 7644 §3.5.2; what Okta and Entra ID
	// expect), with the new ETag, and no member list however large.
	r = ep.Do(t, "PATCH", "/Groups/"+gid, addMember, "If-Match", before)
	if r.Status != 204 || len(r.Body) != 0 {
		t.Fatalf("member PATCH with the current ETag: %d %s, want 204 and no body", r.Status, r.Body)
	}
	patched := r.Header.Get("ETag")
	r = ep.Do(t, "GET", "/Groups/"+gid, nil)
	after := r.Header.Get("ETag")
	if after == before || after != str(ok(t, r, 200), "meta", "version") || patched != after {
		t.Fatalf("ETag after a member change is %q (before %q, PATCH answered %q, meta.version %v)", after, before, patched, str(r.JSON(t), "meta", "version"))
	}
	// Asking for attributes gets them.
	r = ep.Do(t, "PATCH", "/Groups/"+gid+"?excludedAttributes=members", fmt.Sprintf(rename, "ETagged 2b"))
	if g := ok(t, r, 200); str(g, "displayName") != "ETagged 2b" || g["members"] != nil {
		t.Fatalf("PATCH ?excludedAttributes=members answered %v, want the renamed group without members", g)
	}
	if r = ep.Do(t, "GET", "/Groups/"+gid, nil); r.Header.Get("ETag") == after {
		t.Fatalf("the rename did not move the ETag")
	}
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+gid, fmt.Sprintf(rename, "ETagged 4"), "If-Match", before), 412, "")
}

// TestPutUnknownIsNotFound: PUT on an unknown id is 404 and never creates.
func TestPutUnknownIsNotFound(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := newID()
	expectError(t, ep.Do(t, "PUT", "/Users/"+id, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": %q, "userName": "ghost@example.com"}`, id)), 404, "")
	expectError(t, ep.Do(t, "PUT", "/Groups/"+id, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": %q, "displayName": "Ghosts"}`, id)), 404, "")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]}`), 404, "")
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}`), 404, "")
	expectError(t, ep.Do(t, "DELETE", "/Groups/"+id, nil), 404, "")
	equal(t, "users", search(t, ep, "/Users").Total, 0)
	equal(t, "groups", search(t, ep, "/Groups").Total, 0)
	var users scimv1.ScimUserList
	var groups scimv1.ScimGroupList
	ctx := context.Background()
	if err := op.Client.List(ctx, &users, client.InNamespace(ep.Namespace)); err != nil || len(users.Items) != 0 {
		t.Fatalf("ScimUsers after PUT on unknown ids: %d (%v)", len(users.Items), err)
	}
	if err := op.Client.List(ctx, &groups, client.InNamespace(ep.Namespace)); err != nil || len(groups.Items) != 0 {
		t.Fatalf("ScimGroups after PUT on unknown ids: %d (%v)", len(groups.Items), err)
	}
	// The userName was not claimed either.
	post(t, ep, "Users", fmt.Sprintf(plainUser, "ghost@example.com"))
}

// TestReadOnlyAttributesIgnored: id, meta and groups sent by a client are
// never assigned (mass assignment); naming them in a PATCH path is 400
// mutability.
func TestReadOnlyAttributesIgnored(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	gid := str(post(t, ep, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins"}`), "id")
	u := post(t, ep, "Users", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "chosen-id", "userName": "mallory@example.com",
  "meta": {"resourceType": "Group", "created": "2001-01-01T00:00:00Z", "lastModified": "2001-01-01T00:00:00Z",
           "location": "https://evil.example/Users/chosen-id", "version": "W/\"1\""},
  "groups": [{"value": %q, "display": "Admins"}]}`, gid))
	id := str(u, "id")
	if id == "chosen-id" {
		t.Fatal("the client chose the id")
	}
	expectError(t, ep.Do(t, "GET", "/Users/chosen-id", nil), 404, "")
	equal(t, "meta.resourceType", str(u, "meta", "resourceType"), "User")
	if str(u, "meta", "created") == "2001-01-01T00:00:00Z" || strings.Contains(str(u, "meta", "location"), "evil") {
		t.Fatalf("meta taken from the client: %v", u["meta"])
	}
	equal(t, "groups of the new user", len(values(u["groups"])), 0)
	equal(t, "members of the group", len(storedMembers(t, ep, gid)), 0)

	// PUT with another id and groups: the id of the URL wins, groups ignored.
	other := newID()
	r := ep.Do(t, "PUT", "/Users/"+id, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": %q, "userName": "mallory@example.com", "groups": [{"value": %q}], "meta": {"created": "2001-01-01T00:00:00Z"}}`, other, gid))
	equal(t, "id after PUT", str(ok(t, r, 200), "id"), id)
	expectError(t, ep.Do(t, "GET", "/Users/"+other, nil), 404, "")
	equal(t, "members after PUT", len(storedMembers(t, ep, gid)), 0)

	// A no-path PATCH skips them silently.
	m := patchOK(t, ep, "/Users/"+id, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "add", "value": {"id": %q, "groups": [{"value": %q}], "meta": {"created": "2001-01-01T00:00:00Z"}, "title": "Intern"}}]}`, other, gid))
	equal(t, "id after PATCH", str(m, "id"), id)
	equal(t, "title after PATCH", str(m, "title"), "Intern")
	equal(t, "members after PATCH", len(storedMembers(t, ep, gid)), 0)

	// Naming them in a path is an error.
	for _, path := range []string{"id", "meta.created", "groups", "meta"} {
		body := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "add", "path": %q, "value": [{"value": %q}]}]}`, path, gid)
		r := ep.Do(t, "PATCH", "/Users/"+id, body)
		if r.Status != 400 {
			t.Fatalf("PATCH path %s: %d %s", path, r.Status, r.Body)
		}
		expectError(t, r, 400, "mutability")
	}
	equal(t, "members at the end", len(storedMembers(t, ep, gid)), 0)
	equal(t, "stored object name", storedUser(t, ep, id).Name, id)

	// Groups: a client-chosen id is ignored too.
	g := post(t, ep, "Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "my-group", "displayName": "Chosen"}`)
	if str(g, "id") == "my-group" {
		t.Fatal("the client chose the group id")
	}
}

// TestMediaTypes: responses are application/scim+json; requests may be
// application/scim+json or application/json; other media types are 415.
func TestMediaTypes(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	r := ep.Do(t, "POST", "/Users", fmt.Sprintf(plainUser, "json@example.com"), "Content-Type", "application/json")
	id := str(ok(t, r, 201), "id")
	r = ep.Do(t, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "JSON"}]}`,
		"Content-Type", "application/json; charset=utf-8")
	equal(t, "title", str(ok(t, r, 200), "title"), "JSON")
	r = ep.Do(t, "PUT", "/Users/"+id, fmt.Sprintf(plainUser, "json@example.com"), "Content-Type", "application/scim+json; charset=utf-8")
	ok(t, r, 200)
	for _, path := range []string{"/Users", "/Users/" + id, "/Groups", "/ServiceProviderConfig", "/ResourceTypes", "/Schemas"} {
		expectSCIMContentType(t, ep.Do(t, "GET", path, nil, "Accept", "application/json"))
	}
	expectError(t, ep.Do(t, "GET", "/Users/"+newID(), nil), 404, "")
	expectError(t, ep.Do(t, "POST", "/Users", fmt.Sprintf(plainUser, "xml@example.com"), "Content-Type", "application/xml"), 415, "")
	expectError(t, ep.Do(t, "POST", "/Users", `<User><userName>x</userName></User>`, "Content-Type", "application/xml"), 415, "")
	expectError(t, ep.Do(t, "POST", "/Users", `{"userName": `), 400, "invalidSyntax")
	expectError(t, ep.Do(t, "POST", "/Users", `["not", "an", "object"]`), 400, "invalidSyntax")
	expectError(t, ep.Do(t, "POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}`), 400, "invalidValue")
	expectError(t, ep.Do(t, "POST", "/Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}`), 400, "invalidValue")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []}`), 400, "")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "move", "path": "title"}]}`), 400, "")
	expectError(t, ep.Do(t, "DELETE", "/Users", nil), 405, "")

	strict := op.NewEndpoint(t, ep.Namespace, "strict", func(e *scimv1.ScimEndpoint) {
		e.Spec.Compatibility = scimv1.CompatibilityStrict
	})
	expectError(t, strict.Do(t, "POST", "/Users", fmt.Sprintf(plainUser, "plain@example.com"), "Content-Type", "text/plain"), 415, "")
	ok(t, strict.Do(t, "POST", "/Users", fmt.Sprintf(plainUser, "plain@example.com"), "Content-Type", "application/json"), 201)
}

// TestDiscovery: /ServiceProviderConfig, /ResourceTypes and /Schemas describe
// what the server really does, including the enterprise extension.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	spc := get(t, ep, "/ServiceProviderConfig")
	if !slices.Contains(strs(spc["schemas"]), "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig") {
		t.Fatalf("ServiceProviderConfig schemas: %v", spc["schemas"])
	}
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"patch", "supported"}, true},
		{[]any{"filter", "supported"}, true},
		{[]any{"filter", "maxResults"}, float64(1000)},
		{[]any{"sort", "supported"}, true},
		{[]any{"etag", "supported"}, true},
		{[]any{"bulk", "supported"}, false},
		{[]any{"changePassword", "supported"}, false},
		{[]any{"authenticationSchemes", 0, "type"}, "oauthbearertoken"},
	} {
		equal(t, fmt.Sprint(tc.path...), at(spc, tc.path...), tc.want)
	}

	rts := search(t, ep, "/ResourceTypes")
	equal(t, "resource types", rts.Total, 3)
	byName := map[string]map[string]any{}
	for _, rt := range rts.Resources {
		byName[str(rt, "name")] = rt
	}
	equal(t, "User endpoint", str(byName["User"], "endpoint"), "/Users")
	equal(t, "User schema", str(byName["User"], "schema"), userURN)
	equal(t, "User extension", str(byName["User"], "schemaExtensions", 0, "schema"), enterpriseURN)
	equal(t, "User extension required", at(byName["User"], "schemaExtensions", 0, "required"), any(false))
	equal(t, "Group endpoint", str(byName["Group"], "endpoint"), "/Groups")
	equal(t, "Group schema", str(byName["Group"], "schema"), groupURN)
	equal(t, "ResourceTypes/User", str(get(t, ep, "/ResourceTypes/User"), "schema"), userURN)
	expectError(t, ep.Do(t, "GET", "/ResourceTypes/Widget", nil), 404, "")

	schemas := search(t, ep, "/Schemas")
	equalSlices(t, "schemas", ids(schemas.Resources), sorted(userURN, enterpriseURN, groupURN, roleURN))
	attr := func(s map[string]any, name string) map[string]any {
		for _, a := range s["attributes"].([]any) {
			if str(a, "name") == name {
				return a.(map[string]any)
			}
		}
		t.Fatalf("schema %s lacks attribute %s", str(s, "id"), name)
		return nil
	}
	user := get(t, ep, "/Schemas/"+userURN)
	equal(t, "userName uniqueness", str(attr(user, "userName"), "uniqueness"), "server")
	equal(t, "userName caseExact", at(attr(user, "userName"), "caseExact"), any(false))
	equal(t, "userName required", at(attr(user, "userName"), "required"), any(true))
	equal(t, "password returned", str(attr(user, "password"), "returned"), "never")
	equal(t, "password mutability", str(attr(user, "password"), "mutability"), "writeOnly")
	equal(t, "groups mutability", str(attr(user, "groups"), "mutability"), "readOnly")
	equal(t, "emails multiValued", at(attr(user, "emails"), "multiValued"), any(true))
	ent := get(t, ep, "/Schemas/"+enterpriseURN)
	equal(t, "manager type", str(attr(ent, "manager"), "type"), "complex")
	attr(ent, "department")
	attr(ent, "employeeNumber")
	group := get(t, ep, "/Schemas/"+groupURN)
	equal(t, "members multiValued", at(attr(group, "members"), "multiValued"), any(true))
	equal(t, "displayName uniqueness", str(attr(group, "displayName"), "uniqueness"), "server")
	expectError(t, ep.Do(t, "GET", "/Schemas/urn:example:nope", nil), 404, "")
	expectError(t, ep.Do(t, "POST", "/Schemas", `{}`), 405, "")
	expectError(t, ep.Do(t, "GET", "/Widgets", nil), 404, "")

	capped := op.NewEndpoint(t, ep.Namespace, "capped", func(e *scimv1.ScimEndpoint) { e.Spec.MaxPageSize = 7 })
	equal(t, "advertised maxResults", at(get(t, capped, "/ServiceProviderConfig"), "filter", "maxResults"), any(float64(7)))
}

// TestAttributeNamesAndValues: attribute names are case-insensitive on input
// and canonical on output; case variants of one name resolve the same way on
// every request; at most one value of a multi-valued attribute is primary;
// values the API server refuses are 400 invalidValue naming the SCIM
// attribute, not the custom resource's field.
func TestAttributeNamesAndValues(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	u := post(t, ep, "Users", `{"SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:User"], "USERNAME": "Shouty@example.com",
  "NAME": {"GIVENNAME": "Loud"}, "EMAILS": [{"VALUE": "shouty@example.com", "TYPE": "work", "PRIMARY": "TRUE"}], "ACTIVE": "TRUE",
  "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"DEPARTMENT": "Caps"}}`)
	equal(t, "userName", str(u, "userName"), "Shouty@example.com")
	equal(t, "givenName", str(u, "name", "givenName"), "Loud")
	equal(t, "email", str(u, "emails", 0, "value"), "shouty@example.com")
	equal(t, "primary", at(u, "emails", 0, "primary"), any(true))
	equal(t, "department", str(u, enterpriseURN, "department"), "Caps")
	equal(t, "stored department", storedUser(t, ep, str(u, "id")).Spec.Enterprise.Department, "Caps")

	// The smallest spelling wins (as for PATCH paths), on every request.
	for i := range 8 {
		m := post(t, ep, "Users", fmt.Sprintf(`{"userName": "variant%d@example.com", "title": "lower", "TITLE": "UPPER", "Title": "Mixed",
  "name": {"givenName": "lower", "GIVENNAME": "UPPER"}}`, i))
		equal(t, "title", str(m, "title"), "UPPER")
		equal(t, "givenName", str(m, "name", "givenName"), "UPPER")
	}

	m := post(t, ep, "Users", `{"userName": "primaries@example.com", "emails": [
  {"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}, {"value": "c@example.com"}]}`)
	var primaries []string
	for _, e := range m["emails"].([]any) {
		if at(e, "primary") == true {
			primaries = append(primaries, str(e, "value"))
		}
	}
	equalSlices(t, "primary emails", primaries, []string{"b@example.com"})

	r := ep.Do(t, "POST", "/Users", fmt.Sprintf(`{"userName": "long@example.com", "displayName": %q}`, strings.Repeat("x", 5000)))
	e := expectError(t, r, 400, "invalidValue")
	if d := str(e, "detail"); !strings.Contains(d, "displayName") || strings.Contains(d, "spec.") || strings.Contains(d, "<nil>") {
		t.Fatalf("detail %q should name displayName and nothing internal", d)
	}
	expectError(t, ep.Do(t, "POST", "/Users", `{"userName": "long@example.com", "active": "maybe"}`), 400, "invalidValue")
	expectError(t, ep.Do(t, "POST", "/Users", `{"userName": "long@example.com", "name": "not an object"}`), 400, "invalidValue")
	post(t, ep, "Users", `{"userName": "long@example.com"}`)
}

// TestNestedGroups: a group can be a member of another group, is rendered
// with type Group and a /Groups $ref, and leaves its parent's members when it
// is deleted.
func TestNestedGroups(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	uid := str(post(t, ep, "Users", fmt.Sprintf(plainUser, "nested@example.com")), "id")
	child := str(post(t, ep, "Groups", fmt.Sprintf(`{"displayName": "Child", "members": [{"value": %q}]}`, uid)), "id")
	parent := str(post(t, ep, "Groups", fmt.Sprintf(`{"displayName": "Parent", "members": [{"value": %q}, {"value": %q}]}`, uid, child)), "id")
	members := get(t, ep, "/Groups/"+parent)["members"].([]any)
	equalSlices(t, "parent members", values(members), sorted(uid, child))
	for _, m := range members {
		if str(m, "value") == child && (str(m, "type") != "Group" || !strings.HasSuffix(str(m, "$ref"), "/Groups/"+child) || str(m, "display") != "Child") {
			t.Fatalf("nested group rendered as %v", m)
		}
	}
	// A group is never its own member, by POST-then-PATCH or by PUT.
	self := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": %q}]}]}`, parent)
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+parent, self), 400, "invalidValue")
	expectError(t, ep.Do(t, "PUT", "/Groups/"+parent, fmt.Sprintf(`{"displayName": "Parent", "members": [{"value": %q}]}`, parent)), 400, "invalidValue")
	equalSlices(t, "parent members after refused self-membership", storedMembers(t, ep, parent), sorted(uid, child))

	expectStatus(t, ep.Do(t, "DELETE", "/Groups/"+child, nil), 204)
	equalSlices(t, "parent members after the child is deleted", values(get(t, ep, "/Groups/"+parent)["members"]), []string{uid})
	equalSlices(t, "stored parent members", storedMembers(t, ep, parent), []string{uid})
}

// TestGroupCycles: a group never becomes a member of its own members,
// directly or through other groups, by PATCH, by a no-path replace or by PUT
// (400 invalidValue, nothing written); nesting without a cycle still works.
func TestGroupCycles(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	addMember := func(id string) string {
		return fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": [{"value": %q}]}]}`, id)
	}
	// a contains b, b contains c.
	c := str(post(t, ep, "Groups", `{"displayName": "C"}`), "id")
	b := str(post(t, ep, "Groups", fmt.Sprintf(`{"displayName": "B", "members": [{"value": %q}]}`, c)), "id")
	a := str(post(t, ep, "Groups", fmt.Sprintf(`{"displayName": "A", "members": [{"value": %q}]}`, b)), "id")

	expectError(t, ep.Do(t, "PATCH", "/Groups/"+b, addMember(a)), 400, "invalidValue")
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+c, addMember(a)), 400, "invalidValue")
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+c, addMember(b)), 400, "invalidValue")
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+c, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "value": {"displayName": "C2", "members": [{"value": %q}]}}]}`, a)), 400, "invalidValue")
	expectError(t, ep.Do(t, "PUT", "/Groups/"+c, fmt.Sprintf(`{"displayName": "C2", "members": [{"value": %q}]}`, a)), 400, "invalidValue")
	equalSlices(t, "c's members after the refused cycles", storedMembers(t, ep, c), []string(nil))
	equal(t, "c's displayName", storedGroup(t, ep, c).Spec.DisplayName, "C")

	// Nesting without a cycle: a may contain c directly too, and a group
	// outside the chain may join any of them.
	patchOK(t, ep, "/Groups/"+a, addMember(c))
	equalSlices(t, "a's members", storedMembers(t, ep, a), sorted(b, c))
	d := str(post(t, ep, "Groups", `{"displayName": "D"}`), "id")
	patchOK(t, ep, "/Groups/"+c, addMember(d))
	equalSlices(t, "c's members", storedMembers(t, ep, c), []string{d})
	// Once b leaves a, a may join b.
	patchOK(t, ep, "/Groups/"+a, fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": "members[value eq \"%s\"]"}]}`, b))
	patchOK(t, ep, "/Groups/"+b, addMember(a))
	equalSlices(t, "b's members", storedMembers(t, ep, b), sorted(a, c))
}

// TestPatchIsAtomic: when one operation of a PATCH (or a member of a PUT)
// is refused, nothing of the request is applied (RFC 7644 §3.5.2).
func TestPatchIsAtomic(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	uid := str(post(t, ep, "Users", fmt.Sprintf(plainUser, "atomic@example.com")), "id")
	gid := str(post(t, ep, "Groups", fmt.Sprintf(`{"displayName": "Atomic", "members": [{"value": %q}]}`, uid)), "id")
	before := storedGroup(t, ep, gid).ResourceVersion

	expectError(t, ep.Do(t, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
  {"op": "replace", "path": "displayName", "value": "Renamed"},
  {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]}`), 400, "invalidValue")
	expectError(t, ep.Do(t, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
  {"op": "replace", "value": {"displayName": "Renamed", "members": [{"value": "no-such-user"}]}}]}`), 400, "invalidValue")
	expectError(t, ep.Do(t, "PUT", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "displayName": "Renamed", "members": [{"value": "no-such-user"}]}`), 400, "invalidValue")
	g := storedGroup(t, ep, gid)
	equal(t, "displayName", g.Spec.DisplayName, "Atomic")
	equal(t, "resourceVersion", g.ResourceVersion, before)
	equalSlices(t, "members", storedMembers(t, ep, gid), []string{uid})
	equal(t, "old name still taken", ep.Do(t, "POST", "/Groups", `{"displayName": "atomic"}`).Status, 409)
	post(t, ep, "Groups", `{"displayName": "Renamed"}`)

	expectError(t, ep.Do(t, "PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
  {"op": "replace", "path": "title", "value": "Changed"},
  {"op": "replace", "path": "active", "value": "sometimes"}]}`), 400, "invalidValue")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
  {"op": "replace", "path": "title", "value": "Changed"},
  {"op": "remove", "path": "userName"}]}`), 400, "")
	u := storedUser(t, ep, uid)
	equal(t, "title", u.Spec.Title, "")
	equal(t, "active", u.Spec.Active, true)
}
