package tenantapp

import (
	"slices"
	"strings"
	"time"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/telemetry"
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
	// held is set while the endpoint's deprovisioning guard holds revocations.
	held bool
}

// keepActiveRows makes want keep every active row of view, so that while the
// deprovisioning guard holds revocations no user is deactivated or deleted in
// the tables; new users and changes of active users still flow. Group
// memberships follow the IdP. Without a view (the first pass after a start)
// there is nothing known to keep.
func keepActiveRows(want *rows, view *rows) {
	if view == nil {
		return
	}
	for id, row := range view.users {
		if !row.Active {
			continue
		}
		if w, ok := want.users[id]; !ok || !w.Active {
			want.users[id] = row
		}
	}
}

// newestWrite is when the SCIM server last wrote any of the users and groups
// (a member change stamps its group), the time the projection lag is
// measured from.
func (in inputs) newestWrite() time.Time {
	var newest time.Time
	for _, u := range in.users {
		newest = later(newest, telemetry.LastModified(u))
	}
	for _, g := range in.groups {
		newest = later(newest, telemetry.LastModified(g))
	}
	return newest
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// desiredRows computes what app's tables should hold. hasRow reports whether
// the database holds a row for a user id; it decides whether a user outside
// the scope keeps an inactive row under the Disable policy (nil: none does).
// It also returns the scope's displayNames that match no group.
func desiredRows(app *scimv1.TenantApp, in inputs, hasRow func(id string) bool) (rows, []string) {
	inScope, missing := scopeMembers(app.Spec.Scope.Groups, in)
	disable := policyOf(app) == scimv1.DeactivationDisable
	want := rows{
		users:   make(map[string]tenantdb.User, len(in.users)),
		groups:  make(map[string]tenantdb.Group, len(in.groups)),
		members: make(map[string][]string, len(in.groups)),
	}
	for _, u := range in.users {
		if u.DeletionTimestamp != nil {
			continue
		}
		scoped := inScope == nil || inScope[u.Name]
		switch {
		case scoped && (u.Spec.Active || disable):
			want.users[u.Name] = userRow(u, u.Spec.Active)
		case !scoped && disable && hasRow != nil && hasRow(u.Name):
			want.users[u.Name] = userRow(u, false)
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
	for _, sh := range in.shards {
		if _, ok := want.groups[sh.Spec.Group]; !ok {
			continue
		}
		for _, m := range sh.Spec.Members {
			if _, ok := want.users[m.Value]; ok && isUserMember(m) {
				want.members[sh.Spec.Group] = append(want.members[sh.Spec.Group], m.Value)
			}
		}
	}
	for g, ids := range want.members {
		slices.Sort(ids)
		want.members[g] = slices.Compact(ids)
	}
	return want, missing
}

// scopeMembers returns the ids of the direct user members of the named groups
// (nil when names is empty: everyone is in scope) and the names that match no
// group. Names compare case-insensitively, as SCIM compares displayNames.
func scopeMembers(names []string, in inputs) (map[string]bool, []string) {
	if len(names) == 0 {
		return nil, nil
	}
	wanted := make(map[string]bool, len(names))
	for _, n := range names {
		wanted[strings.ToLower(n)] = true
	}
	ids := map[string]bool{}
	found := map[string]bool{}
	for _, g := range in.groups {
		if name := strings.ToLower(g.Spec.DisplayName); g.DeletionTimestamp == nil && wanted[name] {
			ids[g.Name], found[name] = true, true
		}
	}
	var missing []string
	for _, n := range names {
		if !found[strings.ToLower(n)] {
			missing = append(missing, n)
		}
	}
	members := map[string]bool{}
	for _, sh := range in.shards {
		if !ids[sh.Spec.Group] {
			continue
		}
		for _, m := range sh.Spec.Members {
			if isUserMember(m) {
				members[m.Value] = true
			}
		}
	}
	return members, missing
}

// isUserMember tells user members from nested groups, which group_members
// cannot hold and scope does not follow.
func isUserMember(m scimv1.Member) bool { return m.Type == "" || m.Type == "User" }

// userRow maps a ScimUser to its row; active is passed separately because
// leaving the scope deactivates a row without changing the user.
func userRow(u *scimv1.ScimUser, active bool) tenantdb.User {
	row := tenantdb.User{
		ID: u.Name, ExternalID: u.Spec.ExternalID, UserName: u.Spec.UserName,
		DisplayName: u.Spec.DisplayName, Email: primaryEmail(u.Spec.Emails),
		Active: active, Version: u.Generation,
	}
	if u.Spec.Name != nil {
		row.GivenName, row.FamilyName = u.Spec.Name.GivenName, u.Spec.Name.FamilyName
	}
	return row
}

// primaryEmail is the primary email address, else the first one.
func primaryEmail(emails []scimv1.MultiValuedAttribute) string {
	for _, e := range emails {
		if e.Primary && e.Value != "" {
			return e.Value
		}
	}
	for _, e := range emails {
		if e.Value != "" {
			return e.Value
		}
	}
	return ""
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
