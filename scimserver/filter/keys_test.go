package filter

import (
	"slices"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestKeys(t *testing.T) {
	for expr, want := range map[string][]string{
		`userName eq "a"`: {"userName"},
		`name.familyName co "x" and not (active eq true)`:                                        {"name", "active"},
		`emails[type eq "work" and value co "x"] or meta.lastModified gt "2024-01-01T00:00:00Z"`: {"emails", "meta"},
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`:           {schema.EnterpriseUserURN},
		`USERNAME pr or userName eq "b"`:                                                         {"userName"},
	} {
		f, err := Parse(schema.UserResourceType, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got := f.Keys(); !slices.Equal(got, want) {
			t.Errorf("%s: keys %v, want %v", expr, got, want)
		}
	}
	var none *Filter
	if none.Keys() != nil {
		t.Error("a nil filter reads keys")
	}
}
