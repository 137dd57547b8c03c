package tenantapp

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

var deleted = &metav1.Time{}

func user(id string, active bool, mutate ...func(*scimv1.ScimUser)) *scimv1.ScimUser {
	u := &scimv1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Name: id, Generation: 3},
		Spec:       scimv1.ScimUserSpec{Endpoint: "okta", UserName: id + "@example.com", Active: active},
	}
	for _, m := range mutate {
		m(u)
	}
	return u
}

func group(id, name string) *scimv1.ScimGroup {
	return &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Name: id, Generation: 2},
		Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: name}}
}

func shard(groupID string, members ...scimv1.Member) *scimv1.ScimMembership {
	return &scimv1.ScimMembership{Spec: scimv1.ScimMembershipSpec{Group: groupID, Members: members}}
}

func member(id string) scimv1.Member { return scimv1.Member{Value: id, Type: "User"} }

func row(id string, active bool) tenantdb.User {
	return tenantdb.User{ID: id, UserName: id + "@example.com", Active: active, Version: 3}
}

func app(policy scimv1.DeactivationPolicy, scope ...string) *scimv1.TenantApp {
	return &scimv1.TenantApp{Spec: scimv1.TenantAppSpec{Endpoint: "okta", DeactivationPolicy: policy,
		Scope: scimv1.TenantScope{Groups: scope}}}
}

// pinned gives app the scope pins of its status.
func pinned(a *scimv1.TenantApp, pins ...scimv1.PinnedGroup) *scimv1.TenantApp {
	a.Status.ScopeGroups = pins
	return a
}

func TestDesiredRows(t *testing.T) {
	admins := group("g1", "Admins")
	cases := []struct {
		reason      string
		app         *scimv1.TenantApp
		in          inputs
		hasRow      func(string) bool
		wantUsers   []tenantdb.User
		wantMembers map[string][]string
		wantMissing []string
		wantPins    []scimv1.PinnedGroup
		wantGone    []string
	}{
		{
			reason:    "without scope and with Disable every user has a row, deactivated ones inactive",
			app:       app(""),
			in:        inputs{users: []*scimv1.ScimUser{user("a", true), user("b", false)}},
			wantUsers: []tenantdb.User{row("a", true), row("b", false)},
		},
		{
			reason:    "with Delete a deactivated user has no row",
			app:       app(scimv1.DeactivationDelete),
			in:        inputs{users: []*scimv1.ScimUser{user("a", true), user("b", false)}},
			wantUsers: []tenantdb.User{row("a", true)},
		},
		{
			reason: "a user being deleted has no row",
			app:    app(""),
			in: inputs{users: []*scimv1.ScimUser{user("a", true, func(u *scimv1.ScimUser) {
				u.DeletionTimestamp = deleted
			})}},
		},
		{
			reason: "attributes map to columns, the primary email wins",
			app:    app(""),
			in: inputs{users: []*scimv1.ScimUser{user("a", true, func(u *scimv1.ScimUser) {
				u.Spec.ExternalID, u.Spec.DisplayName = "00u1", "Ada L"
				u.Spec.Name = &scimv1.Name{GivenName: "Ada", FamilyName: "Lovelace"}
				u.Spec.Emails = []scimv1.MultiValuedAttribute{{Value: "home@x"}, {Value: "work@x", Primary: true}}
			})}},
			wantUsers: []tenantdb.User{{ID: "a", ExternalID: "00u1", UserName: "a@example.com", DisplayName: "Ada L",
				GivenName: "Ada", FamilyName: "Lovelace", Email: "work@x", Active: true, Version: 3}},
		},
		{
			reason: "with a scope only direct user members of the named groups (any case) have rows",
			app:    app("", "admins"),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true), user("b", true), user("c", true)},
				groups: []*scimv1.ScimGroup{admins, group("g2", "Nested")},
				shards: []*scimv1.ScimMembership{
					shard("g1", member("a"), scimv1.Member{Value: "g2", Type: "Group"}),
					shard("g2", member("c")),
				},
			},
			wantUsers:   []tenantdb.User{row("a", true)},
			wantMembers: map[string][]string{"g1": {"a"}, "g2": nil},
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "admins", ID: "g1"}},
		},
		{
			reason: "a pinned scope group keeps the scope after a rename, even when another group takes its name",
			app:    pinned(app("", "Admins"), scimv1.PinnedGroup{DisplayName: "Admins", ID: "g1"}),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true), user("b", true)},
				groups: []*scimv1.ScimGroup{group("g1", "Renamed"), group("g2", "Admins")},
				shards: []*scimv1.ScimMembership{shard("g1", member("a")), shard("g2", member("b"))},
			},
			wantUsers:   []tenantdb.User{row("a", true)},
			wantMembers: map[string][]string{"g1": {"a"}, "g2": nil},
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g1"}},
		},
		{
			reason: "a pinned scope group that was deleted contributes no members and is reported",
			app:    pinned(app(scimv1.DeactivationDelete, "Admins"), scimv1.PinnedGroup{DisplayName: "Admins", ID: "g9"}),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true)},
				groups: []*scimv1.ScimGroup{group("g2", "Others")},
				shards: []*scimv1.ScimMembership{shard("g2", member("a")), shard("g9", member("a"))},
			},
			wantMembers: map[string][]string{"g2": nil},
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g9"}},
			wantGone:    []string{"Admins"},
		},
		{
			reason: "once the pinned group is deleted its name is looked up again, as a binding's group is",
			app:    pinned(app(scimv1.DeactivationDelete, "Admins"), scimv1.PinnedGroup{DisplayName: "Admins", ID: "g9"}),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true)},
				groups: []*scimv1.ScimGroup{admins},
				shards: []*scimv1.ScimMembership{shard("g1", member("a")), shard("g9", member("a"))},
			},
			wantUsers:   []tenantdb.User{row("a", true)},
			wantMembers: map[string][]string{"g1": {"a"}},
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g1"}},
		},
		{
			reason: "a name no longer in the spec drops its pin; a new one is resolved by displayName",
			app:    pinned(app("", "Admins"), scimv1.PinnedGroup{DisplayName: "Old", ID: "g2"}),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true), user("b", true)},
				groups: []*scimv1.ScimGroup{admins, group("g2", "Old")},
				shards: []*scimv1.ScimMembership{shard("g1", member("a")), shard("g2", member("b"))},
			},
			wantUsers:   []tenantdb.User{row("a", true)},
			wantMembers: map[string][]string{"g1": {"a"}, "g2": nil},
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g1"}},
		},
		{
			reason: "with a scope and Disable a user who left it keeps an inactive row, one never in it gets none",
			app:    app(scimv1.DeactivationDisable, "Admins"),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true), user("left", true), user("never", true)},
				groups: []*scimv1.ScimGroup{admins},
				shards: []*scimv1.ScimMembership{shard("g1", member("a"))},
			},
			hasRow:      func(id string) bool { return id == "left" },
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g1"}},
			wantUsers:   []tenantdb.User{row("a", true), row("left", false)},
			wantMembers: map[string][]string{"g1": {"a"}},
		},
		{
			reason: "with a scope and Delete a user who left it loses the row",
			app:    app(scimv1.DeactivationDelete, "Admins"),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true), user("left", true)},
				groups: []*scimv1.ScimGroup{admins},
				shards: []*scimv1.ScimMembership{shard("g1", member("a"))},
			},
			hasRow:      func(id string) bool { return id == "left" },
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g1"}},
			wantUsers:   []tenantdb.User{row("a", true)},
			wantMembers: map[string][]string{"g1": {"a"}},
		},
		{
			reason:      "a scope group that does not exist yet provisions nobody and is reported",
			app:         app("", "Admins", "Ghosts"),
			in:          inputs{users: []*scimv1.ScimUser{user("a", true)}, groups: []*scimv1.ScimGroup{admins}},
			wantMembers: map[string][]string{"g1": nil},
			wantMissing: []string{"Ghosts"},
			wantPins:    []scimv1.PinnedGroup{{DisplayName: "Admins", ID: "g1"}},
		},
		{
			reason: "memberships name only users with rows; every group is listed, even empty",
			app:    app(scimv1.DeactivationDelete),
			in: inputs{
				users:  []*scimv1.ScimUser{user("a", true), user("off", false)},
				groups: []*scimv1.ScimGroup{admins, group("g2", "Empty")},
				shards: []*scimv1.ScimMembership{shard("g1", member("off"), member("a")), shard("gone", member("a"))},
			},
			wantUsers:   []tenantdb.User{row("a", true)},
			wantMembers: map[string][]string{"g1": {"a"}, "g2": nil},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			sc := resolveScope(tc.app, tc.in.groups, nil)
			got := desiredRows(tc.app, tc.in, sc, tc.hasRow)
			var users []tenantdb.User
			for _, u := range got.users {
				users = append(users, u)
			}
			sortUsers := cmpopts.SortSlices(func(a, b tenantdb.User) bool { return a.ID < b.ID })
			if diff := cmp.Diff(tc.wantUsers, users, sortUsers, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if tc.wantMembers == nil {
				tc.wantMembers = map[string][]string{}
			}
			if diff := cmp.Diff(tc.wantMembers, got.members, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMissing, sc.missing); diff != "" {
				t.Errorf("missing scope groups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPins, sc.pins); diff != "" {
				t.Errorf("pins (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantGone, sc.gone); diff != "" {
				t.Errorf("deleted scope groups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredRowsSkipsDeletedGroups(t *testing.T) {
	g := group("g1", "Admins")
	g.DeletionTimestamp = deleted
	in := inputs{groups: []*scimv1.ScimGroup{g, group("g2", "Ops")}, shards: []*scimv1.ScimMembership{shard("g1")}}
	got := desiredRows(app(""), in, resolveScope(app(""), in.groups, nil), nil)
	want := map[string]tenantdb.Group{"g2": {ID: "g2", DisplayName: "Ops", Version: 2}}
	if diff := cmp.Diff(want, got.groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

// TestFrozenSplitShardProjectsNoRemovedMember: a split stopped half-way
// leaves the frozen root of g1 holding a and b; b was since removed from
// the child covering it. Neither the scope nor the member rows count b.
func TestFrozenSplitShardProjectsNoRemovedMember(t *testing.T) {
	placed := func(depth, index int32, split bool, members ...scimv1.Member) *scimv1.ScimMembership {
		sh := shard("g1", members...)
		sh.Spec.Depth, sh.Spec.Shard, sh.Spec.Split = &depth, index, split
		return sh
	}
	bit := func(id string) int32 { return int32(scimstore.MemberHash(id) & 1) }
	shards := []*scimv1.ScimMembership{placed(0, 0, true, member("a"), member("b"))}
	if bit("a") == bit("b") {
		shards = append(shards, placed(1, bit("a"), false, member("a")))
	} else {
		shards = append(shards, placed(1, bit("a"), false, member("a")), placed(1, bit("b"), false))
	}
	a := app("", "admins")
	in := inputs{users: []*scimv1.ScimUser{user("a", true), user("b", true)},
		groups: []*scimv1.ScimGroup{group("g1", "Admins")}, shards: shards}
	sc := resolveScope(a, in.groups, nil)
	if diff := cmp.Diff(map[string]bool{"a": true}, sc.members(in)); diff != "" {
		t.Errorf("scope members (-want +got):\n%s", diff)
	}
	got := desiredRows(a, in, sc, nil)
	if diff := cmp.Diff(map[string][]string{"g1": {"a"}}, got.members); diff != "" {
		t.Errorf("member rows (-want +got):\n%s", diff)
	}
}
