package tenantapp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// usersRows builds rows holding the given user rows, in group g1 when member.
func usersRows(member bool, us ...tenantdb.User) *rows {
	r := &rows{users: map[string]tenantdb.User{}, groups: map[string]tenantdb.Group{"g1": {ID: "g1"}},
		members: map[string][]string{"g1": nil}}
	for _, u := range us {
		r.users[u.ID] = u
		if member {
			r.members["g1"] = append(r.members["g1"], u.ID)
		}
	}
	return r
}

func TestRevocations(t *testing.T) {
	cases := []struct {
		reason string
		have   *rows
		want   *rows
		n      int
	}{
		{"no rows known, nothing to revoke", nil, usersRows(false), 0},
		{"an active row made inactive counts", usersRows(false, row("a", true)), usersRows(false, row("a", false)), 1},
		{"an active row removed counts", usersRows(false, row("a", true), row("b", true)), usersRows(false, row("b", true)), 1},
		{"an inactive row removed does not count", usersRows(false, row("a", false)), usersRows(false), 0},
		{"new users and reactivations do not count", usersRows(false, row("a", false)), usersRows(false, row("a", true), row("b", true)), 0},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if got := revocations(tc.have, tc.want); got != tc.n {
				t.Errorf("revocations = %d, want %d", got, tc.n)
			}
		})
	}
}

func TestKeepActiveRowsKeepsRowsAndMemberships(t *testing.T) {
	have := usersRows(true, row("a", true), row("b", true), row("off", false))
	want := usersRows(true, row("b", true), row("new", true))
	keepActiveRows(want, have)
	wantUsers := map[string]tenantdb.User{"a": row("a", true), "b": row("b", true), "new": row("new", true)}
	if diff := cmp.Diff(wantUsers, want.users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"g1": {"a", "b", "new"}}, want.members, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
}
