package faults

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// patchCases: PatchOp messages that are malformed (400 invalidSyntax),
// name paths that do not exist or do not parse (400 invalidPath; invalidFilter
// when what fails is the filter inside brackets), or carry values no rule
// accepts (400 invalidValue). A PATCH is atomic: none of them changes
// anything, including the valid operations before the bad one.
func (w *world) patchCases() []hostileCase {
	alice, eng := w.id("a/alice"), w.id("a/engineering")
	raw := func(ops string) string { return `{"schemas": ["` + patchOpURN + `"], "Operations": ` + ops + `}` }
	good := `{"op": "replace", "path": "title", "value": "patched"}`
	badPath := refuse(http.StatusBadRequest, "invalidPath")
	badFilter := refuse(http.StatusBadRequest, "invalidFilter")
	var cases []hostileCase
	for _, c := range []struct {
		name, ops string
	}{
		{"op move", `[{"op": "move", "from": "title", "path": "nickName"}]`},
		{"op copy", `[{"op": "copy", "from": "title", "path": "nickName"}]`},
		{"op test", `[{"op": "test", "path": "title", "value": "x"}]`},
		{"op empty", `[{"op": "", "path": "title", "value": "x"}]`},
		{"op misspelt", `[{"op": "replacee", "path": "title", "value": "x"}]`},
		{"op null", `[{"op": null, "path": "title", "value": "x"}]`},
		{"op number", `[{"op": 1, "path": "title", "value": "x"}]`},
		{"op missing", `[{"path": "title", "value": "x"}]`},
		{"path number", `[{"op": "replace", "path": 5, "value": "x"}]`},
		{"Operations object", `{"op": "replace", "path": "title", "value": "x"}`},
		{"Operations empty", `[]`},
		{"Operations null", `null`},
		{"Operations string", `"replace title"`},
		{"operation number", `[5]`},
		{"operation null", `[null]`},
		{"operation array", `[["replace", "title", "x"]]`},
		{"valid then bad op", `[` + good + `, {"op": "move", "path": "title"}]`},
	} {
		cases = append(cases,
			named("user, "+c.name, call(w.a, http.MethodPatch, "/Users/"+alice, raw(c.ops)), badSyntax),
			named("group, "+c.name, call(w.a, http.MethodPatch, "/Groups/"+eng, raw(c.ops)), badSyntax),
			named("strict user, "+c.name, call(w.s, http.MethodPatch, "/Users/"+w.id("s/sam"), raw(c.ops)), badSyntax),
		)
	}
	for _, p := range []struct {
		path string
		want outcome
	}{
		{`emails[type eq]`, badFilter}, {`emails[nosuch eq "x"].value`, badFilter},
		{`emails[`, badPath}, {`emails]`, badPath}, {`name..givenName`, badPath}, {`name.givenName.x`, badPath},
		{`urn:evil:ext:attr`, badPath}, {`nosuch`, badPath}, {`members`, badPath}, {`userName[value eq "x"]`, badPath},
		{`emails[type eq "work"].value.x`, badPath}, {`emails[type eq "work"`, badPath}, {`$ref`, badPath},
		{`.title`, badPath}, {`title.`, badPath}, {`emails[type eq "work"][value eq "x"]`, badPath},
		{enterpriseURN + `:nosuch`, badPath}, {`urn:ietf:params:scim:schemas:core:2.0:Group:displayName`, badPath},
	} {
		cases = append(cases,
			named("replace "+p.path, call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(op("replace", "title", "patched"), op("replace", p.path, "x"))), p.want),
			named("remove "+p.path, call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(op("remove", p.path, nil))), p.want),
		)
	}
	for _, c := range []struct {
		name string
		ops  []map[string]any
	}{
		{"add without value", []map[string]any{op("add", "title", nil)}},
		{"replace without value", []map[string]any{op("replace", "title", nil)}},
		{"no-path replace with a string", []map[string]any{op("replace", "", "x")}},
		{"no-path replace with a list", []map[string]any{op("replace", "", []any{"x"})}},
		{"no-path add with a number", []map[string]any{op("add", "", 5)}},
		{"remove userName", []map[string]any{op("remove", "userName", nil)}},
		{"replace userName empty", []map[string]any{op("replace", "userName", "")}},
		{"replace active maybe", []map[string]any{op("replace", "active", "maybe")}},
		{"replace primary of a filtered email", []map[string]any{op("replace", `emails[type eq "work"].primary`, "sometimes")}},
		{"valid, then active maybe", []map[string]any{op("replace", "title", "patched"), op("replace", "active", "maybe")}},
	} {
		cases = append(cases, named("user, "+c.name, call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(c.ops...)), badValue))
	}
	for _, c := range []struct {
		name string
		ops  []map[string]any
		want outcome
	}{
		{"displayName empty", []map[string]any{op("replace", "displayName", "")}, badValue},
		{"displayName object", []map[string]any{op("replace", "displayName", map[string]any{})}, badValue},
		{"member with empty value", []map[string]any{op("add", "members", []any{map[string]any{"value": ""}})}, badValue},
		{"member without value", []map[string]any{op("add", "members", []any{map[string]any{"display": "x"}})}, badValue},
		{"members as an unknown id string", []map[string]any{op("add", "members", "not-a-member")}, badValue},
		{"member value number", []map[string]any{op("add", "members", []any{map[string]any{"value": 5}})}, badValue},
		{"remove member with bad filter", []map[string]any{op("remove", `members[value eq]`, nil)}, badFilter},
		{"rename, then bad member", []map[string]any{op("replace", "displayName", "Renamed"), op("add", "members", []any{map[string]any{"value": "nobody"}})}, badValue},
	} {
		cases = append(cases, named("group, "+c.name, call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(c.ops...)), c.want))
	}
	return mark("patch", cases...)
}

// readFilters returns the malformed filters of testdata/filters.txt.
func readFilters() ([]string, error) {
	f, err := os.Open("testdata/filters.txt")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// filterCases: malformed, unsupported, too long and too deeply nested
// filters on /Users and /Groups of a and s: 400 invalidFilter, refused
// before parsing when over the caps. A filter too long for the request line
// is net/http's 431. Filters naming other endpoints' ids or values are valid
// and find nothing: 200, an empty ListResponse.
func (w *world) filterCases() []hostileCase {
	filters, err := readFilters()
	if err != nil {
		panic(err)
	}
	// The deepest stay under net/http's 64 KiB request header limit once
	// percent-encoded, so they reach the SCIM server's caps.
	for _, depth := range []int{17, 50, 1000, 3000} {
		filters = append(filters,
			strings.Repeat("(", depth)+`userName eq "a"`+strings.Repeat(")", depth),
			strings.Repeat("not (", depth)+`userName eq "a"`+strings.Repeat(")", depth),
			strings.Repeat("emails[", depth)+`type eq "work"`+strings.Repeat("]", depth),
			strings.Repeat("(", depth),
		)
	}
	filters = append(filters,
		`userName eq "`+strings.Repeat("a", 4097)+`"`,
		strings.Repeat(`userName eq "a" or `, 300)+`userName eq "a"`,
		`emails[type eq "work" and `+strings.Repeat(`(value pr) and `, 400)+`value pr]`,
	)
	invalid := refuse(http.StatusBadRequest, "invalidFilter")
	get := func(e *testharness.Endpoint, resource, filter string) rawRequest {
		return call(e, http.MethodGet, "/"+resource+"?filter="+url.QueryEscape(filter)+"&startIndex=1&count=100", nil)
	}
	var cases []hostileCase
	for _, f := range filters {
		name := f
		if len(name) > 60 {
			name = name[:60] + "..."
		}
		cases = append(cases,
			named("a/Users "+name, get(w.a, "Users", f), invalid),
			named("a/Groups "+name, get(w.a, "Groups", f), invalid),
			named("s/Users "+name, get(w.s, "Users", f), invalid),
		)
	}
	cases = append(cases, named("100,000 parentheses", get(w.a, "Users", strings.Repeat("(", 100000)), plainRefusal(http.StatusRequestHeaderFieldsTooLarge)))
	carol, a2alice := w.id("b/carol"), w.id("a2/alice")
	for _, c := range []struct{ resource, filter string }{
		{"Users", `id eq "` + carol + `"`},
		{"Users", `id eq "` + a2alice + `"`},
		{"Users", `id eq "` + w.id("a/engineering") + `"`},
		{"Users", `userName eq "carol@example.com"`},
		{"Users", `externalId eq "2001"`},
		{"Users", `id eq "` + carol + `" or id eq "` + a2alice + `"`},
		{"Users", `meta.location co "` + w.b.Namespace + `"`},
		{"Users", `groups.value eq "` + w.id("b/platform") + `"`},
		{"Groups", `id eq "` + w.id("b/platform") + `"`},
		{"Groups", `displayName eq "Platform Admins"`},
		{"Groups", `members.value eq "` + carol + `"`},
		{"Groups", `id eq "` + w.id("a/alice") + `"`},
	} {
		cases = append(cases, named(c.resource+" "+c.filter, get(w.a, c.resource, c.filter), accept(http.StatusOK, emptyList)))
	}
	cases = append(cases,
		named("a's alice only, not a2's", get(w.a, "Users", `userName eq "ALICE@example.com"`), accept(http.StatusOK, listWithout(a2alice, carol))),
		named("a's Engineering only", get(w.a, "Groups", `displayName eq "engineering"`), accept(http.StatusOK, listWithout(w.id("a2/engineering")))),
	)
	return mark("filters", cases...)
}

// listParamCases: list parameters that are not integers or known values:
// 400 invalidValue (invalidPath for sortBy). Out-of-range integers are
// clamped as RFC 7644 §3.4.2.4 says (startIndex < 1 is 1, count < 0 is 0);
// attributes naming what is never returned return nothing more.
func (w *world) listParamCases() []hostileCase {
	invalidValue := badValue
	var cases []hostileCase
	for _, resource := range []string{"Users", "Groups"} {
		for _, q := range []string{"startIndex=abc", "startIndex=1.5", "startIndex=99999999999999999999", "startIndex=", "count=abc",
			"count=1e2", "count=99999999999999999999", "count=0x10", "sortOrder=sideways", "sortOrder=asc%3B%20DROP%20TABLE"} {
			if strings.HasSuffix(q, "=") {
				continue
			}
			cases = append(cases, named(resource+"?"+q, call(w.a, http.MethodGet, "/"+resource+"?"+q, nil), invalidValue))
		}
		for _, q := range []string{"sortBy=nosuch", "sortBy=emails%5Btype%20eq%20%22x%22%5D", "sortBy=((((", "sortBy=urn:evil:attr"} {
			cases = append(cases, named(resource+"?"+q, call(w.a, http.MethodGet, "/"+resource+"?"+q, nil), refuse(http.StatusBadRequest, "invalidPath")))
		}
		for _, q := range []string{"count=-5", "startIndex=-5", "startIndex=1000000", "attributes=password", "attributes=((((",
			"excludedAttributes=id,schemas", "attributes=" + url.QueryEscape(strings.Repeat("a.", 2000))} {
			cases = append(cases, named(resource+"?"+q, call(w.a, http.MethodGet, "/"+resource+"?"+q, nil), accept(http.StatusOK, listWithout("password", "hunter2"))))
		}
	}
	return mark("list-params", cases...)
}

// controlCases are well-formed twins of the hostile templates: each must
// succeed, so the refusals above are about what made them hostile.
func (w *world) controlCases() []hostileCase {
	alice := w.id("a/alice")
	return mark("control",
		named("create a user on a", call(w.a, http.MethodPost, "/Users", userBody(w.fresh("control"), "")), accept(http.StatusCreated, w.createsUser(w.a, nil))),
		named("create a user on s", call(w.s, http.MethodPost, "/Users", userBody(w.fresh("control"), "")), accept(http.StatusCreated, w.createsUser(w.s, nil))),
		named("create a group on a", call(w.a, http.MethodPost, "/Groups", groupBody(w.fresh("control"))), accept(http.StatusCreated, w.createsGroup(w.a))),
		named("PATCH alice's title", call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(op("replace", "title", "control"))), accept(http.StatusOK, changesOnly(w.userKey(w.a, "a/alice")))),
		named("filter a's users", call(w.a, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "alice@example.com"`), nil), accept(http.StatusOK, listWithout(w.id("a2/alice")))),
	)
}
