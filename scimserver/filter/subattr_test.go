package filter

import (
	"errors"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// TestSubAttributeFilters: Entra's `attr[inner].sub op value` is read as
// `attr[inner and sub op value]` with the quirk, and refused without it.
func TestSubAttributeFilters(t *testing.T) {
	user := decode(t, `{"userName": "bjensen", "active": true, "emails": [
		{"type": "home", "value": "home@example.com"},
		{"type": "work", "value": "Work Mail] \"x\"@example.com"}]}`)
	for _, tc := range []struct {
		reason, filter string
		want           bool
	}{
		{"the element with both", `emails[type eq "work"].value co "work mail"`, true},
		{"the conditions must hold on one element", `emails[type eq "home"].value co "work mail"`, false},
		{"a quoted value with a bracket, spaces and escaped quotes", `emails[type eq "work"].value eq "Work Mail] \"x\"@example.com"`, true},
		{"pr takes no value", `emails[type eq "work"].value pr`, true},
		{"inside a logical expression", `emails[type eq "work"].value sw "work" and active eq true`, true},
		{"twice", `emails[type eq "home"].value pr and emails[type eq "work"].value ew "example.com"`, true},
		{"an ordinary value filter is unchanged", `emails[type eq "work" and value co "mail"]`, true},
		{"a sub-attribute of another value filter", `emails[type eq "work"].type eq "home"`, false},
	} {
		f, err := ParseWith(schema.UserResourceType, tc.filter, schema.Lenient())
		if err != nil {
			t.Errorf("%s: %s: %v", tc.reason, tc.filter, err)
			continue
		}
		if got := f.Match(user); got != tc.want {
			t.Errorf("%s: %s matched %v, want %v", tc.reason, tc.filter, got, tc.want)
		}
	}
	for _, bad := range []string{`emails[type eq "work"].value eq`, `emails[type eq "work"].nosuch eq "x"`, `emails[type eq "work"].value eq "x`} {
		var e *scimerr.Error
		if _, err := ParseWith(schema.UserResourceType, bad, schema.Lenient()); !errors.As(err, &e) || e.ScimType != scimerr.InvalidFilter {
			t.Errorf("lenient %s: %v, want invalidFilter", bad, err)
		}
	}
	var e *scimerr.Error
	if _, err := Parse(schema.UserResourceType, `emails[type eq "work"].value eq "x"`); !errors.As(err, &e) || e.ScimType != scimerr.InvalidFilter {
		t.Errorf("strict: %v, want invalidFilter", err)
	}
}
