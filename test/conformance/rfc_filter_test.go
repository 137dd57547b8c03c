package conformance

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// directory seeds four users whose attributes exercise every filter
// operator, and returns their ids by short name.
func directory(t *testing.T, ep *testharness.Endpoint) map[string]string {
	t.Helper()
	bodies := map[string]string{
		"alice": `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "userName": "alice@example.com", "externalId": "ext-A", "displayName": "Alice Smith", "title": "Engineer", "active": true,
  "name": {"givenName": "Alice", "familyName": "Smith"},
  "emails": [{"type": "work", "value": "alice@example.com", "primary": true}, {"type": "home", "value": "alice@home.org"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "employeeNumber": "100"}}`,
		"bob": `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "userName": "bob@example.org", "externalId": "ext-B", "displayName": "Bob Jones", "title": "Manager", "active": false,
  "name": {"givenName": "Bob", "familyName": "Jones"},
  "emails": [{"type": "work", "value": "bob@example.org"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}}`,
		"carol": `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "userName": "carol@example.com", "externalId": "ext-c", "displayName": "Carol King", "active": true,
  "name": {"givenName": "Carol", "familyName": "King"},
  "emails": [{"type": "home", "value": "carol@home.org"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng"}}`,
		"dave": `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "dave@example.net", "displayName": "Dave Brown", "title": "engineer", "active": true,
  "name": {"givenName": "Dave", "familyName": "Brown"}}`,
	}
	out := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		out[name] = str(post(t, ep, "Users", bodies[name]), "id")
	}
	return out
}

// names maps resource ids back to directory names, sorted.
func names(dir map[string]string, res []map[string]any) []string {
	var out []string
	for _, r := range res {
		for name, id := range dir {
			if str(r, "id") == id {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestFilterOperators: every comparison operator, logical operator,
// parentheses, value paths, sub-attributes, extension attributes (with and
// without URN) and dateTime comparisons, with case-insensitive names.
func TestFilterOperators(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	dir := directory(t, ep)
	none := []string(nil)
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`userName eq "alice@example.com"`, []string{"alice"}},
		{`USERNAME EQ "ALICE@EXAMPLE.COM"`, []string{"alice"}},
		{`title eq "engineer"`, []string{"alice", "dave"}},
		{`title ne "Engineer"`, []string{"bob", "carol"}},
		{`displayName co "o"`, []string{"bob", "carol", "dave"}},
		{`userName sw "A"`, []string{"alice"}},
		{`userName ew ".com"`, []string{"alice", "carol"}},
		{`userName gt "bob@example.org"`, []string{"carol", "dave"}},
		{`userName ge "bob@example.org"`, []string{"bob", "carol", "dave"}},
		{`userName lt "bob@example.org"`, []string{"alice"}},
		{`userName le "BOB@example.org"`, []string{"alice", "bob"}},
		{`title pr`, []string{"alice", "bob", "dave"}},
		{`emails pr`, []string{"alice", "bob", "carol"}},
		{`active eq false`, []string{"bob"}},
		{`active ne false`, []string{"alice", "carol", "dave"}},
		{`not (title pr)`, []string{"carol"}},
		{`title pr and active eq true`, []string{"alice", "dave"}},
		{`title eq "Manager" or department eq "Eng"`, []string{"alice", "bob", "carol"}},
		{`(title eq "Engineer" or title eq "Manager") and active eq true`, []string{"alice", "dave"}},
		{`title eq "Engineer" or (title eq "Manager" and active eq true)`, []string{"alice", "dave"}},
		{`active eq true and not (emails pr)`, []string{"dave"}},
		{`((userName sw "a") or (userName sw "b")) and not (active eq false)`, []string{"alice"}},
		{`emails[type eq "work"]`, []string{"alice", "bob"}},
		{`emails[type eq "home" and value ew "home.org"]`, []string{"alice", "carol"}},
		{`emails[type eq "work" and value co "example.com"]`, []string{"alice"}},
		{`emails[type eq "work" or primary eq true]`, []string{"alice", "bob"}},
		{`emails[not (type eq "work")]`, []string{"alice", "carol"}},
		{`emails[primary eq true] and title pr`, []string{"alice"}},
		{`name[givenName eq "alice"]`, []string{"alice"}},
		{`title eq null`, []string{"carol"}},
		{`title ne null`, []string{"alice", "bob", "dave"}},
		{`emails.primary eq "True"`, []string{"alice"}},
		{`emails.value ew ".org"`, []string{"alice", "bob", "carol"}},
		{`emails.type eq "home" and emails.type eq "work"`, []string{"alice"}},
		{`emails co "example.com"`, []string{"alice"}},
		{`name.familyName sw "j"`, []string{"bob"}},
		{`NAME.FAMILYNAME eq "king"`, []string{"carol"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Eng"`, []string{"alice", "carol"}},
		{`department eq "eng"`, []string{"alice", "carol"}},
		{`employeeNumber pr`, []string{"alice"}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "carol@example.com"`, []string{"carol"}},
		{`externalId eq "ext-A"`, []string{"alice"}},
		{`externalId eq "EXT-A"`, none},
		{`externalId pr`, []string{"alice", "bob", "carol"}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"alice", "bob", "carol", "dave"}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, none},
		{`meta.created le "2999-01-01T00:00:00+01:00"`, []string{"alice", "bob", "carol", "dave"}},
		{`meta.resourceType eq "User"`, []string{"alice", "bob", "carol", "dave"}},
		{fmt.Sprintf(`id eq "%s"`, dir["alice"]), []string{"alice"}},
		{fmt.Sprintf(`id eq "%s" or userName eq "bob@example.org"`, dir["alice"]), []string{"alice", "bob"}},
		{fmt.Sprintf(`id eq "%s" and userName eq "bob@example.org"`, dir["alice"]), none},
		{fmt.Sprintf(`id ne "%s" and title pr`, dir["alice"]), []string{"bob", "dave"}},
		{`userName eq "alice@example.com" and userName eq "bob@example.org"`, none},
	} {
		page := search(t, ep, filterQuery("Users", tc.filter))
		if got := names(dir, page.Resources); !slices.Equal(got, tc.want) {
			t.Errorf("filter %s: got %v, want %v", tc.filter, got, tc.want)
		}
		if page.Total != len(tc.want) {
			t.Errorf("filter %s: totalResults %d, want %d", tc.filter, page.Total, len(tc.want))
		}
	}
}

// TestFilterGroups: group filters by displayName and by member, including
// the members value path.
func TestFilterGroups(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	dir := directory(t, ep)
	eng := str(post(t, ep, "Groups", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
  "members": [{"value": %q}, {"value": %q}]}`, dir["alice"], dir["dave"])), "id")
	sales := str(post(t, ep, "Groups", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales", "externalId": "g-sales",
  "members": [{"value": %q}]}`, dir["bob"])), "id")
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{`displayName eq "engineering"`, []string{eng}},
		{`displayName sw "S"`, []string{sales}},
		{`displayName co "ing" or externalId eq "g-sales"`, sorted(eng, sales)},
		{fmt.Sprintf(`members.value eq "%s"`, dir["dave"]), []string{eng}},
		{fmt.Sprintf(`members[value eq "%s"]`, dir["bob"]), []string{sales}},
		{fmt.Sprintf(`members[value eq "%s"] and displayName eq "Sales"`, dir["alice"]), nil},
		{`members pr`, sorted(eng, sales)},
		{`externalId pr`, []string{sales}},
	} {
		page := search(t, ep, filterQuery("Groups", tc.filter))
		if got := ids(page.Resources); !slices.Equal(got, tc.want) {
			t.Errorf("filter %s: got %v, want %v", tc.filter, got, tc.want)
		}
	}
}

// TestFilterInvalid: malformed filters, unknown attributes and operators a
// type does not support are 400 invalidFilter, never ignored; an over-long or
// deeply nested filter is refused the same way and the server keeps serving.
func TestFilterInvalid(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	directory(t, ep)
	deep := strings.Repeat("(", 2000) + `userName eq "a"` + strings.Repeat(")", 2000)
	for _, f := range []string{
		`userName eq`,
		`userName zz "a"`,
		`userName eq "a`,
		`(userName eq "a"`,
		`userName eq "a")`,
		`userName eq "a" and`,
		`and userName eq "a"`,
		`userName "a"`,
		`nosuch eq "a"`,
		`name.nosuch eq "a"`,
		`urn:example:nope:userName eq "a"`,
		`emails[type eq "work"`,
		`emails[nosuch eq "work"]`,
		`emails[type eq "work"]]`,
		`userName[type eq "work"]`,
		`emails[type eq "work" and (emails[value pr])]`,
		`active gt true`,
		`active eq "maybe"`,
		`meta.created gt "yesterday"`,
		`name eq "Alice"`,
		`   `,
		`userName eq "` + strings.Repeat("x", 5000) + `"`,
		strings.TrimSuffix(strings.Repeat(`userName eq "a" or `, 300), " or "),
		deep,
		strings.Repeat("not (", 1000) + `userName eq "a"` + strings.Repeat(")", 1000),
		strings.Repeat("(", 10000),
		strings.Repeat("emails[", 600) + `value pr` + strings.Repeat("]", 600),
	} {
		r := ep.Do(t, "GET", "/Users?filter="+url.QueryEscape(f), nil)
		short := f
		if len(short) > 60 {
			short = short[:60] + "..."
		}
		if r.Status != 400 {
			t.Errorf("filter %q: status %d, want 400: %.300s", short, r.Status, r.Body)
			continue
		}
		expectError(t, r, 400, "invalidFilter")
	}
	// Still serving, and nesting within the limits is fine.
	nested := strings.Repeat("(", 10) + `userName eq "alice@example.com"` + strings.Repeat(")", 10)
	equal(t, "nested filter results", search(t, ep, filterQuery("Users", nested)).Total, 1)
	long := strings.TrimSuffix(strings.Repeat(`userName eq "alice@example.com" or `, 100), " or ")
	equal(t, "long or-chain results", search(t, ep, filterQuery("Users", long)).Total, 1)
	expectError(t, ep.Do(t, "GET", "/Groups?filter="+url.QueryEscape(deep), nil), 400, "invalidFilter")

	// PATCH paths get the same caps, and a PatchOp carries at most 1000 operations.
	id := search(t, ep, "/Users?count=1").Resources[0]["id"].(string)
	for _, path := range []string{
		strings.Repeat("emails[", 600) + `type eq "work"` + strings.Repeat("]", 600) + ".value",
		`emails[` + strings.Repeat("(", 2000) + `type eq "work"` + strings.Repeat(")", 2000) + `].value`,
		`emails[type eq "` + strings.Repeat("x", 5000) + `"].value`,
		`emails[type eq "work"`,
		`nosuch`,
	} {
		body := fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": %q, "value": "x"}]}`, path)
		if r := ep.Do(t, "PATCH", "/Users/"+id, body); r.Status != 400 {
			t.Errorf("PATCH path %.60q: status %d, want 400: %.300s", path, r.Status, r.Body)
		} else {
			expectError(t, r, 400, "")
		}
	}
	ops := strings.TrimSuffix(strings.Repeat(`{"op": "add", "path": "title", "value": "x"}, `, 1001), ", ")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [`+ops+`]}`), 400, "")
	expectError(t, ep.Do(t, "GET", "/Users?sortBy="+strings.Repeat("a", 5000), nil), 400, "")
	search(t, ep, "/Users")
}

// TestSortAndPaging: sortBy/sortOrder on simple, sub-, multi-valued and
// absent attributes, combined with startIndex/count; paging edge cases.
func TestSortAndPaging(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	dir := directory(t, ep)
	order := func(q string) []string {
		t.Helper()
		page := search(t, ep, "/Users?"+q)
		var out []string
		for _, r := range page.Resources {
			for name, id := range dir {
				if str(r, "id") == id {
					out = append(out, name)
				}
			}
		}
		return out
	}
	equalSlices(t, "sortBy=userName", order("sortBy=userName"), []string{"alice", "bob", "carol", "dave"})
	equalSlices(t, "sortBy=UserName ascending", order("sortBy=UserName&sortOrder=ascending"), []string{"alice", "bob", "carol", "dave"})
	equalSlices(t, "descending", order("sortBy=userName&sortOrder=descending"), []string{"dave", "carol", "bob", "alice"})
	equalSlices(t, "sortBy=name.familyName", order("sortBy=name.familyName"), []string{"dave", "bob", "carol", "alice"})
	equalSlices(t, "sortBy=emails (primary or first value)", order("sortBy=emails"), []string{"alice", "bob", "carol", "dave"})
	byTitle := order("sortBy=title")
	if len(byTitle) != 4 || !slices.Equal(sorted(byTitle[:2]...), []string{"alice", "dave"}) || byTitle[2] != "bob" || byTitle[3] != "carol" {
		t.Fatalf("sortBy=title: %v, want alice and dave (Engineer), bob (Manager), carol (no title) last", byTitle)
	}
	// false is a value, not an absent one: it sorts before true.
	byActive := order("sortBy=active")
	equal(t, "sortBy=active first", byActive[0], "bob")
	equal(t, "sortBy=active descending last", order("sortBy=active&sortOrder=descending")[3], "bob")
	equalSlices(t, "sorted page", order("sortBy=userName&sortOrder=descending&startIndex=2&count=2"), []string{"carol", "bob"})
	equalSlices(t, "filtered, sorted", order("sortBy=displayName&filter="+url.QueryEscape(`active eq true`)), []string{"alice", "carol", "dave"})

	// The default order is stable across pages.
	var paged []string
	for start := 1; start <= 4; start++ {
		paged = append(paged, order(fmt.Sprintf("startIndex=%d&count=1", start))...)
	}
	equalSlices(t, "pages of one", paged, order(""))
	equal(t, "pages of one are distinct", len(slices.Compact(sorted(paged...))), 4)

	for _, tc := range []struct {
		query                string
		startIndex, per, all int
	}{
		{"startIndex=0&count=2", 1, 2, 4},
		{"startIndex=-5", 1, 4, 4},
		{"count=0", 1, 0, 4},
		{"count=-1", 1, 0, 4},
		{"startIndex=4&count=10", 4, 1, 4},
		{"startIndex=5", 5, 0, 4},
		{"startIndex=1000&count=1", 1000, 0, 4},
	} {
		page := search(t, ep, "/Users?"+tc.query)
		if page.StartIndex != tc.startIndex || page.ItemsPerPage != tc.per || page.Total != tc.all {
			t.Errorf("%s: startIndex %d itemsPerPage %d totalResults %d, want %d %d %d",
				tc.query, page.StartIndex, page.ItemsPerPage, page.Total, tc.startIndex, tc.per, tc.all)
		}
	}
	for _, q := range []string{"count=ten", "startIndex=1.5", "sortOrder=sideways&sortBy=userName"} {
		expectError(t, ep.Do(t, "GET", "/Users?"+q, nil), 400, "")
	}
	expectError(t, ep.Do(t, "GET", "/Users?sortBy=nosuch", nil), 400, "")
}

// TestAttributesProjection: attributes and excludedAttributes on lists,
// single reads and write responses; id and schemas are always returned.
func TestAttributesProjection(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	dir := directory(t, ep)
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	for _, r := range search(t, ep, "/Users?attributes=userName").Resources {
		equalSlices(t, "keys with attributes=userName", keys(r), []string{"id", "schemas", "userName"})
	}
	alice := "/Users/" + dir["alice"]
	m := get(t, ep, alice+"?attributes=name.givenName,emails.value")
	equalSlices(t, "keys", keys(m), []string{"emails", "id", "name", "schemas"})
	equalSlices(t, "name keys", keys(m["name"].(map[string]any)), []string{"givenName"})
	equalSlices(t, "email keys", keys(at(m, "emails", 0).(map[string]any)), []string{"value"})

	m = get(t, ep, alice+"?excludedAttributes=emails,name,meta,id")
	for _, k := range []string{"emails", "name", "meta"} {
		if _, has := m[k]; has {
			t.Fatalf("%s returned although excluded", k)
		}
	}
	equal(t, "id cannot be excluded", str(m, "id"), dir["alice"])
	equal(t, "userName kept", str(m, "userName"), "alice@example.com")

	m = get(t, ep, alice+"?attributes="+url.QueryEscape(enterpriseURN+":department"))
	equalSlices(t, "keys with an extension attribute", keys(m), []string{"id", "schemas", enterpriseURN})
	equalSlices(t, "extension keys", keys(m[enterpriseURN].(map[string]any)), []string{"department"})

	m = get(t, ep, alice+"?excludedAttributes="+url.QueryEscape(enterpriseURN))
	if _, has := m[enterpriseURN]; has || slices.Contains(strs(m["schemas"]), enterpriseURN) {
		t.Fatalf("excluded extension still returned: %v", m)
	}

	r := ep.Do(t, "POST", "/Users?attributes=userName", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "eve@example.com", "title": "Spy"}`)
	equalSlices(t, "POST response keys", keys(ok(t, r, 201)), []string{"id", "schemas", "userName"})
	r = ep.Do(t, "PATCH", alice+"?excludedAttributes=emails", `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}`)
	m = ok(t, r, 200)
	equal(t, "patched title", str(m, "title"), "Lead")
	if _, has := m["emails"]; has {
		t.Fatal("PATCH response has excluded emails")
	}

	gid := str(post(t, ep, "Groups", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Projected",
  "members": [{"value": %q}]}`, dir["alice"])), "id")
	for _, g := range search(t, ep, "/Groups?attributes=displayName").Resources {
		equalSlices(t, "group keys", keys(g), []string{"displayName", "id", "schemas"})
	}
	g := get(t, ep, "/Groups/"+gid+"?attributes=members.value")
	equalSlices(t, "member keys", keys(at(g, "members", 0).(map[string]any)), []string{"value"})
}
