package tenantapp

import (
	"slices"
	"time"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// rows is the content of a TenantApp's three tables: what a pass wants them
// to hold, or what the last successful pass left in them.
type rows struct {
	users  map[string]tenantdb.User
	groups map[string]tenantdb.Group
	// members maps every group of groups to its sorted user ids.
	members map[string][]string
}

// state converts rows into the argument of tenantdb FullSync.
func (r rows) state() tenantdb.State {
	st := tenantdb.State{Members: make(map[string][]string, len(r.members))}
	for _, u := range r.users {
		st.Users = append(st.Users, u)
	}
	for _, g := range r.groups {
		st.Groups = append(st.Groups, g)
	}
	for g, ids := range r.members {
		if len(ids) > 0 {
			st.Members[g] = ids
		}
	}
	return st
}

// lookupUser returns a user's row in r, which may be nil.
func (r *rows) lookupUser(id string) (tenantdb.User, bool) {
	if r == nil {
		return tenantdb.User{}, false
	}
	u, ok := r.users[id]
	return u, ok
}

// memberships counts the (group, user) pairs.
func (r rows) memberships() int {
	n := 0
	for _, ids := range r.members {
		n += len(ids)
	}
	return n
}

// inputs are an endpoint's resources as the informer cache holds them. The
// pointers are shared with the cache and must not be modified.
type inputs struct {
	users  []*scimv1.ScimUser
	groups []*scimv1.ScimGroup
	shards []*scimv1.ScimMembership
	// endpointFound: the ScimEndpoint the TenantApp names exists.
	endpointFound bool
	// endpointAllowed: it exists and allows the TenantApp's namespace.
	endpointAllowed bool
}

// groupMembers returns each group's members as the SCIM server reads them
// from its shards: a frozen split shard's stale copy of a removed member
// does not count (scimstore.EffectiveMembers).
func (in inputs) groupMembers() map[string][]scimv1.Member {
	byGroup := map[string][]*scimv1.ScimMembership{}
	for _, sh := range in.shards {
		byGroup[sh.Spec.Group] = append(byGroup[sh.Spec.Group], sh)
	}
	out := make(map[string][]scimv1.Member, len(byGroup))
	for g, shards := range byGroup {
		out[g] = scimstore.EffectiveMembers(shards)
	}
	return out
}

// newestWrite is when the SCIM server last wrote any of the users and groups
// (a member change stamps its group), the time the projection lag is
// measured from.
func (in inputs) newestWrite() time.Time {
	var w scimv1.NewestWrite
	for _, u := range in.users {
		w.Observe(u)
	}
	for _, g := range in.groups {
		w.Observe(g)
	}
	return w.Time()
}

// desiredRows computes what app's tables should hold for the scope sc.
// hasRow reports whether the database holds a row for a user id; it decides
// whether a user outside the scope keeps an inactive row under the Disable
// policy (nil: none does).
func desiredRows(app *scimv1.TenantApp, in inputs, sc scope, hasRow func(id string) bool) rows {
	inScope := sc.members(in)
	disable := policyOf(app) == scimv1.DeactivationDisable
	want := rows{
		users:   make(map[string]tenantdb.User, len(in.users)),
		groups:  make(map[string]tenantdb.Group, len(in.groups)),
		members: make(map[string][]string, len(in.groups)),
	}
	for _, u := range in.users {
		switch rowState(u, inScope == nil || inScope[u.Name], disable) {
		case RowActive:
			want.users[u.Name] = userRow(u, true)
		case RowInactive:
			want.users[u.Name] = userRow(u, false)
		case RowInactiveIfPresent:
			if hasRow != nil && hasRow(u.Name) {
				want.users[u.Name] = userRow(u, false)
			}
		}
	}
	for _, g := range in.groups {
		if g.DeletionTimestamp != nil {
			continue
		}
		want.groups[g.Name] = tenantdb.Group{ID: g.Name, ExternalID: g.Spec.ExternalID,
			DisplayName: g.Spec.DisplayName, Version: g.Generation}
		want.members[g.Name] = nil
	}
	for g, ms := range in.groupMembers() {
		if _, ok := want.groups[g]; !ok {
			continue
		}
		for _, m := range ms {
			if _, ok := want.users[m.Value]; ok && m.IsUser() {
				want.members[g] = append(want.members[g], m.Value)
			}
		}
	}
	for g, ids := range want.members {
		slices.Sort(ids)
		want.members[g] = slices.Compact(ids)
	}
	return want
}

// userRow maps a ScimUser to its row; active is passed separately because
// leaving the scope deactivates a row without changing the user.
func userRow(u *scimv1.ScimUser, active bool) tenantdb.User {
	row := tenantdb.User{
		ID: u.Name, ExternalID: u.Spec.ExternalID, UserName: u.Spec.UserName,
		DisplayName: u.Spec.DisplayName, Email: u.Spec.PrimaryEmail(),
		Active: active, Version: u.Generation,
	}
	if u.Spec.Name != nil {
		row.GivenName, row.FamilyName = u.Spec.Name.GivenName, u.Spec.Name.FamilyName
	}
	return row
}

// policyOf is the app's deactivation policy, Disable when unset.
func policyOf(app *scimv1.TenantApp) scimv1.DeactivationPolicy {
	if app.Spec.DeactivationPolicy == "" {
		return scimv1.DeactivationDisable
	}
	return app.Spec.DeactivationPolicy
}

// needsRowIDs reports whether desiredRows needs to know which users have rows:
// only users outside a scope under the Disable policy depend on it.
func needsRowIDs(app *scimv1.TenantApp) bool {
	return len(app.Spec.Scope.Groups) > 0 && policyOf(app) == scimv1.DeactivationDisable
}
