package tenantdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// implementations returns a fresh migrated client of each implementation,
// so the Fake is held to the behaviour of the real database.
func implementations(dsn string) map[string]func(t *testing.T) tenantdb.Client {
	return map[string]func(t *testing.T) tenantdb.Client{
		"Postgres": func(t *testing.T) tenantdb.Client {
			return newPostgres(t, tenantdb.Config{DSN: dsn, Schema: uniqueSchema("conf"), BatchSize: 2})
		},
		"Fake": func(t *testing.T) tenantdb.Client {
			f := tenantdb.NewFake()
			if _, err := f.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return f
		},
	}
}

// user builds a user whose attributes derive from id, at version v.
func user(id string, v int64) tenantdb.User {
	return tenantdb.User{ID: id, UserName: id + "@example.com", DisplayName: "User " + id, Email: id + "@example.com", Active: true, Version: v}
}

// group builds a group named after id, at version v.
func group(id string, v int64) tenantdb.Group {
	return tenantdb.Group{ID: id, DisplayName: "Group " + id, Version: v}
}

// give writes st through the incremental calls, as the reconciler would.
func give(ctx context.Context, c tenantdb.Client, st tenantdb.State) error {
	if err := c.ApplyUsers(ctx, st.Users); err != nil {
		return err
	}
	if err := c.ApplyGroups(ctx, st.Groups); err != nil {
		return err
	}
	_, err := c.SetMembers(ctx, st.Members)
	return err
}

// ignoreEmpty makes nil and empty slices and maps equal.
var ignoreEmpty = cmpopts.EquateEmpty()

func TestConformance(t *testing.T) {
	hostile := user("u-1", 1)
	hostile.UserName = `robert'); DROP TABLE users; --`
	hostile.DisplayName = `"quoted" \ backslash $1 ☃`
	deactivated := user("u-1", 2)
	deactivated.Active = false
	handEdited := user("u-1", 1)
	handEdited.GivenName = "Changed"

	cases := map[string]struct {
		reason    string
		given     tenantdb.State
		op        func(context.Context, tenantdb.Client) (any, error)
		want      any
		wantErr   error
		wantState tenantdb.State
	}{
		"ApplyRoundTrip": {
			reason: "Values are stored verbatim, whatever SQL they resemble; empty optional attributes read back empty.",
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyUsers(ctx, []tenantdb.User{hostile, user("u-2", 1), user("u-3", 1)})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{hostile, user("u-2", 1), user("u-3", 1)}},
		},
		"NewerVersionOverwrites": {
			reason: "A newer version (here a deactivation) replaces the row.",
			given:  tenantdb.State{Users: []tenantdb.User{user("u-1", 1)}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyUsers(ctx, []tenantdb.User{deactivated})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{deactivated}},
		},
		"StaleVersionIgnored": {
			reason: "A write with an older version never overwrites a newer row.",
			given:  tenantdb.State{Users: []tenantdb.User{deactivated}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{deactivated}},
		},
		"SameVersionRepairs": {
			reason: "The same version with different content wins, so a hand edit is repaired.",
			given:  tenantdb.State{Users: []tenantdb.User{handEdited}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{user("u-1", 1)}},
		},
		"DuplicatesInOneCall": {
			reason: "Duplicate ids in one call keep the highest version, in any order.",
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyUsers(ctx, []tenantdb.User{deactivated, user("u-1", 1)})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{deactivated}},
		},
		"GroupVersionGuard": {
			reason: "Groups follow the same version guard.",
			given:  tenantdb.State{Groups: []tenantdb.Group{{ID: "g-1", DisplayName: "New", Version: 5}}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyGroups(ctx, []tenantdb.Group{{ID: "g-1", DisplayName: "Old", Version: 4}, group("g-2", 1)})
			},
			wantState: tenantdb.State{Groups: []tenantdb.Group{{ID: "g-1", DisplayName: "New", Version: 5}, group("g-2", 1)}},
		},
		"DeleteUsersCascades": {
			reason: "Deleting a user removes its memberships; unknown ids are ignored.",
			given: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1), user("u-2", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1)},
				Members: map[string][]string{"g-1": {"u-1", "u-2"}},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.DeleteUsers(ctx, []tenantdb.Deletion{{ID: "u-1", Version: 2}, {ID: "nobody", Version: 1}})
			},
			wantState: tenantdb.State{
				Users:   []tenantdb.User{user("u-2", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1)},
				Members: map[string][]string{"g-1": {"u-2"}},
			},
		},
		"DeleteGroupsCascades": {
			reason: "Deleting a group removes its memberships and leaves its users.",
			given: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 1)},
				Members: map[string][]string{"g-1": {"u-1"}, "g-2": {"u-1"}},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.DeleteGroups(ctx, []tenantdb.Deletion{{ID: "g-1", Version: 1}})
			},
			wantState: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1)},
				Groups:  []tenantdb.Group{group("g-2", 1)},
				Members: map[string][]string{"g-2": {"u-1"}},
			},
		},
		"DeleteSparesNewerRow": {
			reason: "A deletion older than the row (a stale writer's) leaves the row alone.",
			given:  tenantdb.State{Users: []tenantdb.User{deactivated}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.DeleteUsers(ctx, []tenantdb.Deletion{{ID: "u-1", Version: 1}})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{deactivated}},
		},
		"DeletedRowStaysDeleted": {
			reason: "After a deletion, writes of older versions (a stale writer, a stale FullSync) do not bring the row back.",
			given: tenantdb.State{
				Users:  []tenantdb.User{user("u-1", 1), user("u-2", 1)},
				Groups: []tenantdb.Group{group("g-1", 1), group("g-2", 1)},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				if err := c.DeleteUsers(ctx, []tenantdb.Deletion{{ID: "u-1", Version: 3}}); err != nil {
					return nil, err
				}
				if err := c.DeleteGroups(ctx, []tenantdb.Deletion{{ID: "g-1", Version: 2}}); err != nil {
					return nil, err
				}
				if err := c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 2)}); err != nil {
					return nil, err
				}
				if err := c.ApplyGroups(ctx, []tenantdb.Group{group("g-1", 1)}); err != nil {
					return nil, err
				}
				return c.FullSync(ctx, tenantdb.State{
					Users:   []tenantdb.User{user("u-1", 2), user("u-2", 1)},
					Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 1)},
					Members: map[string][]string{"g-1": {"u-2"}, "g-2": {"u-1", "u-2"}},
				})
			},
			want: tenantdb.SyncResult{UsersKept: 1, GroupsKept: 1,
				Members: tenantdb.MembershipResult{Added: 1, Skipped: 2}},
			wantState: tenantdb.State{
				Users:   []tenantdb.User{user("u-2", 1)},
				Groups:  []tenantdb.Group{group("g-2", 1)},
				Members: map[string][]string{"g-2": {"u-2"}},
			},
		},
		"SameVersionAfterDeletionReturns": {
			reason: "A write of the deletion's version or newer recreates the row (a user re-entering a scope keeps its generation).",
			given:  tenantdb.State{Users: []tenantdb.User{user("u-1", 2), user("u-2", 2)}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				if err := c.DeleteUsers(ctx, []tenantdb.Deletion{{ID: "u-1", Version: 2}, {ID: "u-2", Version: 2}}); err != nil {
					return nil, err
				}
				return nil, c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 2), user("u-2", 3)})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{user("u-1", 2), user("u-2", 3)}},
		},
		"FullSyncDeletionIsGuarded": {
			reason: "A row deleted by FullSync does not come back through an older write.",
			given:  tenantdb.State{Users: []tenantdb.User{user("u-1", 4)}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				if _, err := c.FullSync(ctx, tenantdb.State{}); err != nil {
					return nil, err
				}
				return nil, c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 3)})
			},
		},
		"FullSyncDeletionVersion": {
			reason: "FullSync buries a row at the deletion version it is given, so the row's own version cannot bring it back.",
			given:  tenantdb.State{Users: []tenantdb.User{user("u-1", 4), user("u-2", 4)}},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				if _, err := c.FullSync(ctx, tenantdb.State{DeletedUsers: map[string]int64{"u-1": 5, "u-2": 4}}); err != nil {
					return nil, err
				}
				return nil, c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 4), user("u-2", 4)})
			},
			wantState: tenantdb.State{Users: []tenantdb.User{user("u-2", 4)}},
		},
		"SetMembersReplaces": {
			reason: "Listed groups get exactly the listed users, unlisted groups are untouched, unknown rows are skipped and counted.",
			given: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1), user("u-2", 1), user("u-3", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 1), group("g-3", 1)},
				Members: map[string][]string{"g-1": {"u-1", "u-2"}, "g-2": {"u-1"}, "g-3": {"u-3"}},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return c.SetMembers(ctx, map[string][]string{
					"g-1":     {"u-2", "u-3", "u-3", "ghost"},
					"g-2":     {},
					"g-ghost": {"u-1"},
				})
			},
			want: tenantdb.MembershipResult{Added: 1, Removed: 2, Skipped: 2},
			wantState: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1), user("u-2", 1), user("u-3", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 1), group("g-3", 1)},
				Members: map[string][]string{"g-1": {"u-2", "u-3"}, "g-3": {"u-3"}},
			},
		},
		"FullSyncConverges": {
			reason: "FullSync upserts, keeps newer rows, deletes extra rows and replaces all memberships.",
			given: tenantdb.State{
				Users:   []tenantdb.User{handEdited, user("u-2", 9), user("u-extra", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1), group("g-extra", 1)},
				Members: map[string][]string{"g-1": {"u-1", "u-extra"}, "g-extra": {"u-1"}},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return c.FullSync(ctx, tenantdb.State{
					Users:   []tenantdb.User{user("u-1", 1), user("u-2", 3), user("u-3", 1)},
					Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 1)},
					Members: map[string][]string{"g-1": {"u-1", "u-2"}, "g-2": {"u-3", "u-ghost"}, "g-ghost": {"u-1"}},
				})
			},
			want: tenantdb.SyncResult{
				UsersUpserted: 2, UsersDeleted: 1, UsersKept: 1,
				GroupsUpserted: 1, GroupsDeleted: 1,
				Members: tenantdb.MembershipResult{Added: 2, Removed: 2, Skipped: 2},
			},
			wantState: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1), user("u-2", 9), user("u-3", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 1)},
				Members: map[string][]string{"g-1": {"u-1", "u-2"}, "g-2": {"u-3"}},
			},
		},
		"FullSyncNoDrift": {
			reason: "FullSync of the state already held changes nothing and says so.",
			given: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1)},
				Members: map[string][]string{"g-1": {"u-1"}},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return c.FullSync(ctx, tenantdb.State{
					Users:   []tenantdb.User{user("u-1", 1)},
					Groups:  []tenantdb.Group{group("g-1", 1)},
					Members: map[string][]string{"g-1": {"u-1"}},
				})
			},
			want: tenantdb.SyncResult{},
			wantState: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1)},
				Members: map[string][]string{"g-1": {"u-1"}},
			},
		},
		"FullSyncEmpty": {
			reason: "FullSync of an empty state empties the tables.",
			given: tenantdb.State{
				Users:   []tenantdb.User{user("u-1", 1)},
				Groups:  []tenantdb.Group{group("g-1", 1)},
				Members: map[string][]string{"g-1": {"u-1"}},
			},
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return c.FullSync(ctx, tenantdb.State{})
			},
			want: tenantdb.SyncResult{UsersDeleted: 1, GroupsDeleted: 1, Members: tenantdb.MembershipResult{Removed: 1}},
		},
		"InvalidUser": {
			reason: "A user without userName is rejected before anything is written.",
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return nil, c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1), {ID: "u-2", Version: 1}})
			},
			wantErr: tenantdb.ErrInvalid,
		},
		"InvalidMembership": {
			reason: "An empty user id in a membership is rejected.",
			op: func(ctx context.Context, c tenantdb.Client) (any, error) {
				return c.SetMembers(ctx, map[string][]string{"g-1": {""}})
			},
			want:    tenantdb.MembershipResult{},
			wantErr: tenantdb.ErrInvalid,
		},
	}
	// One database for all Postgres cases, one schema per case.
	dsn := pgtest.NewDatabase(t, server)
	for implName, newClient := range implementations(dsn) {
		t.Run(implName, func(t *testing.T) {
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					ctx := context.Background()
					c := newClient(t)
					if err := give(ctx, c, tc.given); err != nil {
						t.Fatalf("writing the given state: %v", err)
					}
					got, err := tc.op(ctx, c)
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("%s\nerror: want %v, got %v", tc.reason, tc.wantErr, err)
					}
					if diff := cmp.Diff(tc.want, got, ignoreEmpty); diff != "" {
						t.Errorf("%s\nresult: -want, +got:\n%s", tc.reason, diff)
					}
					st, err := c.Observe(ctx)
					if err != nil {
						t.Fatalf("Observe: %v", err)
					}
					if diff := cmp.Diff(tc.wantState, st, ignoreEmpty); diff != "" {
						t.Errorf("%s\nstate: -want, +got:\n%s", tc.reason, diff)
					}
				})
			}
		})
	}
}
