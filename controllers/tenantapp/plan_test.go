package tenantapp

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

func tables(users []tenantdb.User, groups []tenantdb.Group, members map[string][]string) rows {
	r := rows{users: map[string]tenantdb.User{}, groups: map[string]tenantdb.Group{}, members: members}
	for _, u := range users {
		r.users[u.ID] = u
	}
	for _, g := range groups {
		r.groups[g.ID] = g
	}
	if r.members == nil {
		r.members = map[string][]string{}
	}
	return r
}

func TestDiffRows(t *testing.T) {
	ops := tenantdb.Group{ID: "g1", DisplayName: "Ops", Version: 1}
	deactivated := row("a", false)
	deactivated.Version = 4
	cases := []struct {
		reason string
		have   rows
		want   rows
		plan   plan
	}{
		{
			reason: "equal tables need no write",
			have:   tables([]tenantdb.User{row("a", true)}, []tenantdb.Group{ops}, map[string][]string{"g1": {"a"}}),
			want:   tables([]tenantdb.User{row("a", true)}, []tenantdb.Group{ops}, map[string][]string{"g1": {"a"}}),
		},
		{
			reason: "a changed user is upserted; y (being deleted) goes at its generation, z (gone) one above its row's version",
			have:   tables([]tenantdb.User{row("a", true), row("z", true), row("y", true)}, nil, nil),
			want:   tables([]tenantdb.User{deactivated, row("b", true)}, nil, nil),
			plan: plan{upsertUsers: []tenantdb.User{deactivated, row("b", true)},
				deleteUsers: []tenantdb.Deletion{{ID: "y", Version: 5}, {ID: "z", Version: 4}}},
		},
		{
			reason: "a new group is upserted with its members; a vanished one deleted without touching members",
			have:   tables([]tenantdb.User{row("a", true)}, []tenantdb.Group{{ID: "g0", DisplayName: "Old", Version: 1}}, map[string][]string{"g0": {"a"}}),
			want:   tables([]tenantdb.User{row("a", true)}, []tenantdb.Group{ops}, map[string][]string{"g1": {"a"}}),
			plan: plan{upsertGroups: []tenantdb.Group{ops}, deleteGroups: []tenantdb.Deletion{{ID: "g0", Version: 2}},
				members: map[string][]string{"g1": {"a"}}},
		},
		{
			reason: "only groups whose members changed are replaced, emptied ones included",
			have: tables([]tenantdb.User{row("a", true), row("b", true)}, []tenantdb.Group{ops, {ID: "g2", DisplayName: "Dev", Version: 1}},
				map[string][]string{"g1": {"a", "b"}, "g2": {"a"}}),
			want: tables([]tenantdb.User{row("a", true), row("b", true)}, []tenantdb.Group{ops, {ID: "g2", DisplayName: "Dev", Version: 1}},
				map[string][]string{"g1": nil, "g2": {"a"}}),
			plan: plan{members: map[string][]string{"g1": nil}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			// y is being deleted (its generation was bumped); z is gone.
			userGens := generations{"a": 4, "b": 3, "y": 5}
			got := diffRows(tc.have, tc.want, userGens, generations{})
			if diff := cmp.Diff(tc.plan, got, cmp.AllowUnexported(plan{})); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if got.empty() != tc.plan.empty() {
				t.Errorf("empty() = %v", got.empty())
			}
		})
	}
}
