package filter

import (
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestParseErrors(t *testing.T) {
	syntax := &scimerr.Error{ScimType: "invalidFilter", Detail: "filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2, §3.5.2)"}
	cases := []struct {
		reason string
		rt     *schema.ResourceType
		filter string
		want   *scimerr.Error
	}{
		{"an empty filter", nil, ``, scimErr("invalidFilter", "filter is empty")},
		{"blank filter", nil, "  \t", scimErr("invalidFilter", "filter is empty")},
		{"no operator", nil, `userName`, syntax},
		{"no value", nil, `userName eq`, syntax},
		{"unknown operator", nil, `userName xx "a"`, syntax},
		{"missing space before and", nil, `userName eq "a"and title pr`, syntax},
		{"dangling and", nil, `userName eq "a" and`, syntax},
		{"unbalanced parenthesis", nil, `(userName eq "a"`, syntax},
		{"value path with a sub-attribute is a PATCH path, not a filter", nil, `emails[type eq "work"].value eq "x"`, syntax},
		{"two value filters on one attribute", nil, `emails[type eq "work"][value pr]`, syntax},
		{"an invalid escape", nil, `userName eq "a\x"`, syntax},
		{"an empty value filter", nil, `emails[]`, syntax},
		{"a quoted attribute name", nil, `"userName" eq "a"`, syntax},
		{"leading zero in a number", nil, `userName eq 01`, syntax},
		{"unterminated string", nil, `userName eq "abc`, scimErr("invalidFilter", "filter has an unterminated string")},
		{"unclosed bracket", nil, `emails[type eq "work"`, scimErr("invalidFilter", "filter has unbalanced brackets")},
		{"stray closing bracket", nil, `emails[type eq "work"]]`, scimErr("invalidFilter", "filter has unbalanced brackets")},
		{"nested value filter", nil, `emails[type[value eq "x"] pr]`, scimErr("invalidFilter", "filter nests a value filter inside another")},
		{"invalid UTF-8", nil, "userName eq \"\xff\"", scimErr("invalidFilter", "filter is not valid UTF-8")},
		{"unknown attribute", nil, `nosuch eq "x"`, scimErr("invalidFilter", `unknown attribute "nosuch"`)},
		{"unknown sub-attribute", nil, `name.nosuch eq "x"`, scimErr("invalidFilter", `unknown attribute "name.nosuch"`)},
		{"sub-attribute of a simple attribute", nil, `userName.value eq "x"`, scimErr("invalidFilter", `unknown attribute "userName.value"`)},
		{"unknown URN", nil, `urn:example:Foo:bar eq "x"`, scimErr("invalidFilter", `unknown attribute "urn:example:Foo:bar"`)},
		{"a schema URN is not an attribute", nil, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`,
			scimErr("invalidFilter", `unknown attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`)},
		{"unknown sub-attribute inside a value filter", nil, `emails[nosuch eq "x"]`,
			scimErr("invalidFilter", `unknown sub-attribute "nosuch" of "emails"`)},
		{"a URN inside a value filter", nil, `emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq "x"]`,
			scimErr("invalidFilter", `unknown sub-attribute "urn:ietf:params:scim:schemas:core:2.0:User:type" of "emails"`)},
		{"value filter on a simple attribute", nil, `userName[value eq "x"]`,
			scimErr("invalidFilter", `"userName": a value filter needs a complex attribute`)},
		{"gt on a boolean (RFC: invalidFilter)", nil, `active gt true`,
			scimErr("invalidFilter", `"active": a boolean attribute only supports eq, ne and pr`)},
		{"a boolean compared with an arbitrary string", nil, `active eq "maybe"`,
			scimErr("invalidFilter", `"active": a boolean attribute must be compared with true or false`)},
		{"a string compared with a number", nil, `userName eq 12`,
			scimErr("invalidFilter", `"userName": a string attribute must be compared with a string`)},
		{"a string compared with a boolean", nil, `externalId eq true`,
			scimErr("invalidFilter", `"externalId": a string attribute must be compared with a string`)},
		{"a dateTime compared with a non-timestamp", nil, `meta.created gt "yesterday"`,
			scimErr("invalidFilter", `"meta.created": a dateTime attribute must be compared with an RFC 3339 timestamp`)},
		{"a complex attribute without value sub-attribute", nil, `name eq "x"`,
			scimErr("invalidFilter", `"name": a complex attribute only supports pr; name a sub-attribute`)},
		{"gt null", nil, `userName gt null`,
			scimErr("invalidFilter", `"userName": operator gt cannot compare with null`)},
		{"the same rules apply inside value filters", nil, `emails[primary co "x"]`,
			scimErr("invalidFilter", `"primary": a boolean attribute only supports eq, ne and pr`)},
		{"co on a number", numbersType(), `age co 4`,
			scimErr("invalidFilter", `"age": a number attribute does not support co`)},
		{"a number compared with a string", numbersType(), `age eq "4"`,
			scimErr("invalidFilter", `"age": a number attribute must be compared with a number`)},
		{"a number out of range", numbersType(), `score eq 1e999`,
			scimErr("invalidFilter", `"score": the number is out of range`)},
		{"ordering on binary", numbersType(), `photo gt "QUJD"`,
			scimErr("invalidFilter", `"photo": a binary attribute does not support gt`)},
		{"a hostile attribute name is truncated in the detail", nil, strings.Repeat("a", 300) + ` eq "x"`,
			scimErr("invalidFilter", `unknown attribute "`+strings.Repeat("a", 100)+`..."`)},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			rt := tc.rt
			if rt == nil {
				rt = schema.UserResourceType
			}
			f, err := Parse(rt, tc.filter)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tc.filter, f)
			}
			if diff := cmp.Diff(error(tc.want), err); diff != "" {
				t.Errorf("Parse(%q): -want +got:\n%s", tc.filter, diff)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		reason string
		filter string
	}{
		{"Okta's user lookup", `userName eq "isaac.brock@example.com"`},
		{"Entra's externalId lookup", `externalId eq "1cfd5f8e-a3b5-4a15-8a79-0d7b8d1f7a31"`},
		{"surrounding blanks are ignored", "  userName pr \n"},
		{"several spaces between tokens", `userName  eq  "a"   and   title pr`},
		{"a space before the bracket", `emails [type eq "work"]`},
		{"not without a space", `not(userName pr)`},
		{"escapes in strings, including lower-case \\u hex", `displayName eq "J\u00f6rg \\ \/ \"x\" \u00E9"`},
		{"unicode in strings", `displayName eq "Jörg 日本 🙂"`},
		{"parentheses inside a string are not nesting", `displayName eq "` + strings.Repeat("(", 100) + `"`},
		{"brackets inside a string are not value filters", `displayName eq "[a] ]["`},
		{"a meta sub-attribute", `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{"a common attribute with the core URN", `urn:ietf:params:scim:schemas:core:2.0:User:id eq "x"`},
		{"the $ref sub-attribute", `groups[$ref pr]`},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if _, err := Parse(schema.UserResourceType, tc.filter); err != nil {
				t.Errorf("Parse(%q): %v", tc.filter, err)
			}
		})
	}
}

func TestParseDecodesEscapes(t *testing.T) {
	f, err := Parse(schema.UserResourceType, `displayName eq "J\u00f6rg \"x\""`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Equality{{Attr: "displayName", Value: `Jörg "x"`}}
	if diff := cmp.Diff(want, f.Equalities()); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}
