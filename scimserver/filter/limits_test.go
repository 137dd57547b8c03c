package filter

import (
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestLimits(t *testing.T) {
	tooDeep := &scimerr.Error{ScimType: "invalidFilter",
		Detail: `filter nests parentheses, brackets and "not" deeper than 16 levels`}
	parens := func(n int, inner string) string {
		return strings.Repeat("(", n) + inner + strings.Repeat(")", n)
	}
	nots := func(n int, inner string) string {
		return strings.Repeat("not (", n) + inner + strings.Repeat(")", n)
	}
	cases := []struct {
		reason string
		filter string
		want   *scimerr.Error
	}{
		{"16 parentheses are accepted", parens(16, `userName pr`), nil},
		{"17 parentheses are refused before parsing", parens(17, `userName pr`), tooDeep},
		{"3000 parentheses exceed the length cap", parens(3000, `userName pr`),
			scimErr("invalidFilter", "filter is longer than 4096 bytes")},
		{"a not counts as one more level: 8 not( are 16 levels", nots(8, `userName pr`), nil},
		{"9 not( are 18 levels", nots(9, `userName pr`), tooDeep},
		{"NOT in any case counts", strings.ToUpper(nots(9, `userName pr`)), tooDeep},
		{"a bracket counts as a level", parens(15, `emails[type eq "work"]`), nil},
		{"a bracket on top of 16 parentheses is too deep", parens(16, `emails[type eq "work"]`), tooDeep},
		{"parentheses inside a value filter count", `emails[` + parens(16, `type eq "work"`) + `]`, tooDeep},
		{"sequential groups do not add up", strings.Repeat(parens(10, `userName pr`)+" and ", 20) + `title pr`, nil},
		{"quoted parentheses do not count", `displayName eq "` + strings.Repeat("(", 200) + `"`, nil},
		{"an escaped quote does not end the string", `displayName eq "\"` + strings.Repeat("(", 200) + `"`, nil},
		{"exactly MaxLength bytes is accepted", `displayName eq "` + strings.Repeat("x", MaxLength-17) + `"`, nil},
		{"MaxLength+1 bytes is refused", `displayName eq "` + strings.Repeat("x", MaxLength-16) + `"`,
			scimErr("invalidFilter", "filter is longer than 4096 bytes")},
		{"a long or chain within the length cap parses", strings.Repeat(`title pr or `, 300) + `title pr`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			_, err := Parse(schema.UserResourceType, tc.filter)
			var want error
			if tc.want != nil {
				want = tc.want
			}
			if diff := cmp.Diff(want, err); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParserPanicBecomesError(t *testing.T) {
	boom := func([]byte) (int, error) { panic("boom") }
	if _, err := safely(boom, "x"); err == nil {
		t.Errorf("safely did not turn a panic into an error")
	}
}
