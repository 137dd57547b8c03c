package filter

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestEqualities(t *testing.T) {
	cases := []struct {
		reason string
		rt     *schema.ResourceType
		filter string
		want   []Equality
	}{
		{"the brief's example", nil, `userName eq "a" and active eq true`, []Equality{{"userName", "a"}}},
		{"a single comparison", nil, `userName eq "Isaac.Brock@example.com"`, []Equality{{"userName", "Isaac.Brock@example.com"}}},
		{"names come out canonical, values as written", nil, `USERNAME Eq "A"`, []Equality{{"userName", "A"}}},
		{"Entra's externalId lookup", nil, `externalId eq "x-1"`, []Equality{{"externalId", "x-1"}}},
		{"id is indexable", nil, `id eq "2819c223"`, []Equality{{"id", "2819c223"}}},
		{"every indexable conjunct, in order", nil, `externalId eq "x" and userName eq "y"`,
			[]Equality{{"externalId", "x"}, {"userName", "y"}}},
		{"a core URN prefix is fine", nil, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"`,
			[]Equality{{"userName", "a"}}},
		{"nested and chains are flattened", nil, `userName eq "a" and (externalId eq "b" and title eq "c")`,
			[]Equality{{"userName", "a"}, {"externalId", "b"}, {"title", "c"}}},
		{"an or inside the and chain is skipped", nil, `(userName eq "a") and (title eq "b" or title eq "c")`,
			[]Equality{{"userName", "a"}}},
		{"Entra's group lookup", schema.GroupResourceType, `displayName eq "Tour Guides"`,
			[]Equality{{"displayName", "Tour Guides"}}},
		{"escapes are decoded", nil, `userName eq "a\"b"`, []Equality{{"userName", `a"b`}}},
		{"or gives nothing to index", nil, `userName eq "a" or userName eq "b"`, nil},
		{"not gives nothing to index", nil, `not (userName eq "a")`, nil},
		{"ne is not an equality", nil, `userName ne "a"`, nil},
		{"co is not an equality", nil, `userName co "a"`, nil},
		{"eq null is not an equality", nil, `userName eq null`, nil},
		{"a sub-attribute is not top-level", nil, `emails.value eq "x"`, nil},
		{"a multi-valued attribute is not singular", nil, `emails eq "x"`, nil},
		{"a value path is not an equality", nil, `emails[value eq "x"]`, nil},
		{"an extension attribute is not top-level", nil,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`, nil},
		{"a boolean is not a string", nil, `active eq true`, nil},
		{"a meta sub-attribute is not top-level", nil, `meta.version eq "x"`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			rt := tc.rt
			if rt == nil {
				rt = schema.UserResourceType
			}
			f, err := Parse(rt, tc.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.filter, err)
			}
			if diff := cmp.Diff(tc.want, f.Equalities()); diff != "" {
				t.Errorf("Equalities(%q): -want +got:\n%s", tc.filter, diff)
			}
		})
	}
}

func TestEqualitiesNilFilter(t *testing.T) {
	var f *Filter
	if got := f.Equalities(); got != nil {
		t.Errorf("Equalities of a nil filter = %v, want nil", got)
	}
}
