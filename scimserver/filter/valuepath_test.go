package filter

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// pathSummary is what a test can compare about a ValuePath.
type pathSummary struct {
	URN, Attr, Sub string
	Filtered       bool
	Conditions     map[string]any
}

func summarize(vp *ValuePath) pathSummary {
	s := pathSummary{URN: vp.Path.URN, Attr: vp.Path.Attr.Name, Filtered: vp.Filter != nil}
	if vp.Path.Sub != nil {
		s.Sub = vp.Path.Sub.Name
	}
	if vp.Filter != nil {
		s.Conditions = vp.Filter.Conditions()
	}
	return s
}

func TestParseValuePath(t *testing.T) {
	const ent = schema.EnterpriseUserURN
	cases := []struct {
		reason string
		rt     *schema.ResourceType
		path   string
		want   pathSummary
	}{
		{"a top-level attribute", nil, `userName`, pathSummary{URN: schema.UserURN, Attr: "userName"}},
		{"a common attribute has no URN", nil, `externalId`, pathSummary{Attr: "externalId"}},
		{"a sub-attribute", nil, `name.givenName`, pathSummary{URN: schema.UserURN, Attr: "name", Sub: "givenName"}},
		{"names come out canonical", nil, `NAME.GIVENNAME`, pathSummary{URN: schema.UserURN, Attr: "name", Sub: "givenName"}},
		{"Entra's URN-prefixed manager", nil, ent + `:manager`, pathSummary{URN: ent, Attr: "manager"}},
		{"URN-prefixed manager.value", nil, ent + `:manager.value`, pathSummary{URN: ent, Attr: "manager", Sub: "value"}},
		{"URN-prefixed simple extension attribute", nil, ent + `:department`, pathSummary{URN: ent, Attr: "department"}},
		{"extension attribute without URN", nil, `employeeNumber`, pathSummary{URN: ent, Attr: "employeeNumber"}},
		{"core URN prefix", nil, schema.UserURN + `:name.familyName`, pathSummary{URN: schema.UserURN, Attr: "name", Sub: "familyName"}},
		{"Entra's filtered email value", nil, `emails[type eq "work"].value`,
			pathSummary{URN: schema.UserURN, Attr: "emails", Sub: "value", Filtered: true,
				Conditions: map[string]any{"type": "work"}}},
		{"two conditions, both copied", nil, `emails[type eq "work" and primary eq true]`,
			pathSummary{URN: schema.UserURN, Attr: "emails", Filtered: true,
				Conditions: map[string]any{"type": "work", "primary": true}}},
		{"Entra's string boolean becomes a bool condition", nil, `roles[primary eq "True"].value`,
			pathSummary{URN: schema.UserURN, Attr: "roles", Sub: "value", Filtered: true,
				Conditions: map[string]any{"primary": true}}},
		{"non-eq conditions are not copied", nil, `emails[type eq "work" and value co "@x"]`,
			pathSummary{URN: schema.UserURN, Attr: "emails", Filtered: true,
				Conditions: map[string]any{"type": "work"}}},
		{"or has no conditions to copy", nil, `emails[type eq "work" or type eq "home"]`,
			pathSummary{URN: schema.UserURN, Attr: "emails", Filtered: true, Conditions: map[string]any{}}},
		{"upper-case filter names are canonicalised", nil, `EMAILS[TYPE EQ "work"].VALUE`,
			pathSummary{URN: schema.UserURN, Attr: "emails", Sub: "value", Filtered: true,
				Conditions: map[string]any{"type": "work"}}},
		{"Okta's member removal", schema.GroupResourceType, `members[value eq "2819c223"]`,
			pathSummary{URN: schema.GroupURN, Attr: "members", Filtered: true,
				Conditions: map[string]any{"value": "2819c223"}}},
		{"members", schema.GroupResourceType, `members`, pathSummary{URN: schema.GroupURN, Attr: "members"}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			rt := tc.rt
			if rt == nil {
				rt = schema.UserResourceType
			}
			vp, err := ParseValuePath(rt, tc.path)
			if err != nil {
				t.Fatalf("ParseValuePath(%q): %v", tc.path, err)
			}
			if diff := cmp.Diff(tc.want, summarize(vp)); diff != "" {
				t.Errorf("ParseValuePath(%q): -want +got:\n%s", tc.path, diff)
			}
		})
	}
}

func TestParseValuePathErrors(t *testing.T) {
	syntax := scimErr("invalidPath", "path is not valid SCIM path syntax (RFC 7644 §3.4.2.2, §3.5.2)")
	cases := []struct {
		reason string
		path   string
		want   error
	}{
		{"empty", ``, scimErr("invalidPath", "path is empty")},
		{"unknown attribute", `nosuch`, scimErr("invalidPath", `unknown attribute "nosuch"`)},
		{"unknown sub-attribute", `name.nosuch`, scimErr("invalidPath", `unknown attribute "name.nosuch"`)},
		{"three levels", `name.givenName.x`, syntax},
		{"a filter on a simple attribute", `userName[value eq "x"]`,
			scimErr("invalidPath", `"userName": a value filter needs a multi-valued attribute`)},
		{"a filter on a singular complex attribute", `name[givenName eq "x"]`,
			scimErr("invalidPath", `"name": a value filter needs a multi-valued attribute`)},
		{"an unknown sub-attribute after the bracket", `emails[type eq "work"].nosuch`,
			scimErr("invalidPath", `unknown sub-attribute "nosuch" of "emails"`)},
		{"an unknown sub-attribute inside the bracket is a filter error", `emails[nosuch eq "x"]`,
			scimErr("invalidFilter", `unknown sub-attribute "nosuch" of "emails"`)},
		{"a malformed filter inside the bracket", `emails[type eq]`,
			scimErr("invalidFilter", "filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2, §3.5.2)")},
		{"a wrong-typed condition", `emails[primary eq "maybe"]`,
			scimErr("invalidFilter", `"primary": a boolean attribute must be compared with true or false`)},
		{"unbalanced bracket", `emails[type eq "work"`, scimErr("invalidPath", "path has unbalanced brackets")},
		{"spaces inside a path", `name. givenName`, syntax},
		{"too deep", `emails[` + nest(16) + `]`,
			scimErr("invalidPath", `path nests parentheses, brackets and "not" deeper than 16 levels`)},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			_, err := ParseValuePath(schema.UserResourceType, tc.path)
			if diff := cmp.Diff(tc.want, err); diff != "" {
				t.Errorf("ParseValuePath(%q): -want +got:\n%s", tc.path, diff)
			}
		})
	}
}

func nest(n int) string {
	s := `type eq "work"`
	for range n {
		s = "(" + s + ")"
	}
	return s
}

func TestElementFilter(t *testing.T) {
	cases := []struct {
		reason string
		path   string
		elem   string
		want   bool
	}{
		{"matching type", `emails[type eq "work"]`, `{"type": "work", "value": "a@b.c"}`, true},
		{"type is caseExact false", `emails[type eq "WORK"]`, `{"type": "work"}`, true},
		{"other type", `emails[type eq "work"]`, `{"type": "home"}`, false},
		{"keys of any case", `emails[type eq "work"]`, `{"TYPE": "work"}`, true},
		{"a stored string boolean", `roles[primary eq "True"]`, `{"value": "x", "primary": "true"}`, true},
		{"a stored bool against a string condition", `roles[primary eq "True"]`, `{"value": "x", "primary": true}`, true},
		{"both conditions on the element", `emails[type eq "work" and primary eq true]`, `{"type": "work"}`, false},
		{"member value is caseExact", `members[value eq "ABC"]`, `{"value": "abc"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			rt := schema.UserResourceType
			if tc.path[:7] == "members" {
				rt = schema.GroupResourceType
			}
			vp, err := ParseValuePath(rt, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, vp.Filter.Match(decode(t, tc.elem))); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestOneOf(t *testing.T) {
	type result struct {
		Values []string
		OK     bool
	}
	cases := []struct {
		reason string
		path   string
		want   result
	}{
		{"Okta's single member removal", `members[value eq "a"]`, result{[]string{"a"}, true}},
		{"two members", `members[value eq "a" or value eq "b"]`, result{[]string{"a", "b"}, true}},
		{"any number of members", `members[value eq "a" or value eq "b" or value eq "c"]`, result{[]string{"a", "b", "c"}, true}},
		{"the operator case does not matter", `members[VALUE EQ "a" OR value Eq "b"]`, result{[]string{"a", "b"}, true}},
		{"and is not a list of members", `members[value eq "a" and type eq "User"]`, result{}},
		{"another sub-attribute", `members[type eq "User"]`, result{}},
		{"another operator", `members[value sw "a"]`, result{}},
		{"not", `members[not (value eq "a")]`, result{}},
		{"an or mixing sub-attributes", `members[value eq "a" or display eq "b"]`, result{}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			vp, err := ParseValuePath(schema.GroupResourceType, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var got result
			got.Values, got.OK = vp.Filter.OneOf("value")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("OneOf: -want +got:\n%s", diff)
			}
		})
	}
}
