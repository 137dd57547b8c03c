package v1alpha1

import "testing"

// TestPrimaryEmail: both projections name a user by this address; they used
// to disagree when the address marked primary had no value.
func TestPrimaryEmail(t *testing.T) {
	for _, tc := range []struct {
		reason string
		emails []MultiValuedAttribute
		want   string
	}{
		{"none", nil, ""},
		{"the primary one", []MultiValuedAttribute{{Value: "a@x"}, {Value: "b@x", Primary: true}}, "b@x"},
		{"the first without a primary", []MultiValuedAttribute{{Value: "a@x"}, {Value: "b@x"}}, "a@x"},
		{"a primary without a value is passed over", []MultiValuedAttribute{{Primary: true}, {Value: "b@x"}}, "b@x"},
		{"empty values are passed over", []MultiValuedAttribute{{}, {Value: "c@x"}}, "c@x"},
	} {
		if got := (&ScimUserSpec{Emails: tc.emails}).PrimaryEmail(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.reason, got, tc.want)
		}
	}
}

func TestMemberIsUser(t *testing.T) {
	for m, want := range map[Member]bool{{Value: "u"}: true, {Value: "u", Type: "User"}: true, {Value: "g", Type: "Group"}: false} {
		if m.IsUser() != want || (m.Kind() == "User") != want {
			t.Errorf("%+v: IsUser %v, want %v", m, !want, want)
		}
	}
}
