package schema

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// TestRolesAsJSONStrings: Entra ID's JSON-encoded role values are decoded
// wherever a role value can arrive (a roles element, or roles.value alone as
// roles[primary eq "True"].value targets it) with the quirk, and kept as
// sent without it; no other attribute is decoded.
func TestRolesAsJSONStrings(t *testing.T) {
	const encoded = `{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"admin","displayName":"Administrator"}`
	cases := []struct {
		reason  string
		attr    *Attribute
		in      any
		lenient any
		strict  any
		invalid bool // Lenient refuses it with invalidValue
	}{
		{reason: "a roles element: value and display",
			attr: userRoles, in: map[string]any{"value": encoded},
			lenient: map[string]any{"value": "admin", "display": "Administrator"},
			strict:  map[string]any{"value": encoded}},
		{reason: "a display sent beside the value wins",
			attr: userRoles, in: map[string]any{"Value": encoded, "display": "Admin", "primary": true, "type": "WindowsAzureActiveDirectoryRole"},
			lenient: map[string]any{"value": "admin", "display": "Admin", "primary": true, "type": "WindowsAzureActiveDirectoryRole"},
			strict:  map[string]any{"value": encoded, "display": "Admin", "primary": true, "type": "WindowsAzureActiveDirectoryRole"}},
		{reason: "roles.value alone (a filtered PATCH path)",
			attr: userRoleValue, in: encoded, lenient: "admin", strict: encoded},
		{reason: "an ordinary value is untouched",
			attr: userRoles, in: map[string]any{"value": "admin"},
			lenient: map[string]any{"value": "admin"}, strict: map[string]any{"value": "admin"}},
		{reason: "a value that only starts like JSON is an ordinary value",
			attr: userRoleValue, in: "{admin", lenient: "{admin", strict: "{admin"},
		{reason: "a JSON-encoded role without a value is refused",
			attr: userRoles, in: map[string]any{"value": `{"id":"x","displayName":"Admin"}`}, invalid: true,
			strict: map[string]any{"value": `{"id":"x","displayName":"Admin"}`}},
		{reason: "entitlements are not decoded",
			attr: User.Attr("entitlements"), in: map[string]any{"value": encoded},
			lenient: map[string]any{"value": encoded}, strict: map[string]any{"value": encoded}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got, err := CoerceOne(tc.attr, tc.in, Lenient())
			var se *scimerr.Error
			switch {
			case tc.invalid && (!errors.As(err, &se) || se.ScimType != scimerr.InvalidValue):
				t.Errorf("Lenient: %v, want invalidValue", err)
			case !tc.invalid && err != nil:
				t.Errorf("Lenient: %v", err)
			case !tc.invalid:
				if diff := cmp.Diff(tc.lenient, got); diff != "" {
					t.Errorf("Lenient: -want +got:\n%s", diff)
				}
			}
			got, err = CoerceOne(tc.attr, tc.in, Strict())
			if err != nil {
				t.Fatalf("Strict: %v", err)
			}
			if diff := cmp.Diff(tc.strict, got); diff != "" {
				t.Errorf("Strict: -want +got:\n%s", diff)
			}
		})
	}
}
