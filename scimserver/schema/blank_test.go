package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBlankSubAttributes: with the quirk, a blank string sub-attribute of a
// person's attributes is unassigned (null) and a list element left with
// only its labels is dropped; a singular value keeps its nulls, which a
// PATCH merges as "remove" and a resource body drops. Without it, and for
// attributes that name a resource or a grant, the value is kept as sent.
func TestBlankSubAttributes(t *testing.T) {
	emails, manager, roles := User.Attr("emails"), EnterpriseUser.Attr("manager"), userRoles
	cases := []struct {
		reason  string
		attr    *Attribute
		in      any
		lenient any
	}{
		{reason: "a list element with a blank value and labels is dropped", attr: emails,
			in: map[string]any{"value": "", "type": "work", "primary": true}, lenient: nil},
		{reason: "spaces only are blank", attr: User.Attr("addresses"),
			in: map[string]any{"locality": " ", "country": "\t"}, lenient: nil},
		{reason: "a list element keeps what is not blank", attr: User.Attr("phoneNumbers"),
			in:      map[string]any{"value": "+1 555 0100", "display": "", "type": "mobile"},
			lenient: map[string]any{"value": "+1 555 0100", "display": nil, "type": "mobile"}},
		{reason: "an element that had no value to begin with is kept", attr: emails,
			in: map[string]any{"type": "work"}, lenient: map[string]any{"type": "work"}},
		{reason: "a singular value keeps its unassigned sub-attributes as nulls", attr: manager,
			in: map[string]any{"value": "", "displayName": " "}, lenient: map[string]any{"value": nil, "displayName": nil}},
		{reason: "a blank sub-attribute alone (a PATCH path) is unassigned", attr: emails.Sub("value"),
			in: "", lenient: nil},
		{reason: "roles keep a blank value", attr: roles,
			in: map[string]any{"value": ""}, lenient: map[string]any{"value": ""}},
		{reason: "members keep a blank value", attr: Group.Attr("members"),
			in: map[string]any{"value": ""}, lenient: map[string]any{"value": ""}},
		{reason: "a top-level string is not a sub-attribute", attr: User.Attr("title"),
			in: "", lenient: ""},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got, err := CoerceOne(tc.attr, tc.in, Lenient())
			if err != nil {
				t.Fatalf("Lenient: %v", err)
			}
			if diff := cmp.Diff(tc.lenient, got); diff != "" {
				t.Errorf("Lenient: -want +got:\n%s", diff)
			}
			got, err = CoerceOne(tc.attr, tc.in, Strict())
			if err != nil {
				t.Fatalf("Strict: %v", err)
			}
			if diff := cmp.Diff(tc.in, got); diff != "" {
				t.Errorf("Strict: -sent +got:\n%s", diff)
			}
		})
	}
}
