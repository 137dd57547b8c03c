package tenantapp

import (
	"strings"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// scope is a TenantApp's spec.scope.groups resolved to SCIM group ids.
//
// A name is resolved once, by displayName (case-insensitively, as SCIM
// compares displayNames), and pinned in status.scopeGroups: from then on the
// pin decides, so an IdP group owner renaming the group (or giving its old
// name to another group) does not move the scope (docs/security.md). Only
// once the pinned group is gone (deleted, or not a group of the endpoint the
// TenantApp now names) is the name looked up again, as a ScimRoleBinding's
// group is; without a group of that name it contributes no members, and its
// members' revocations go through the deprovisioning guard like any other.
// A name removed from the spec drops its pin; a name added is resolved at
// the next pass.
type scope struct {
	// all: no spec.scope.groups, every user of the endpoint is in scope.
	all bool
	// ids are the group ids the names are pinned to.
	ids map[string]bool
	// pins are the resolved names, in spec order, for status.scopeGroups.
	pins []scimv1.PinnedGroup
	// missing are the names that have no pin and match no group.
	missing []string
	// gone are the names whose pinned group was deleted, with no other
	// group of that name.
	gone []string
}

// resolveScope resolves app's scope names against the endpoint's groups. A
// pin in app's status wins over the displayName; pinned (memory) is a
// fallback for a status the cache does not show yet (nil: none).
func resolveScope(app *scimv1.TenantApp, groups []*scimv1.ScimGroup, pinned []scimv1.PinnedGroup) scope {
	names := app.Spec.Scope.Groups
	if len(names) == 0 {
		return scope{all: true}
	}
	pins := make(map[string]string, len(names))
	for _, list := range [][]scimv1.PinnedGroup{pinned, app.Status.ScopeGroups} {
		for _, p := range list {
			pins[p.DisplayName] = p.ID // status last: it wins
		}
	}
	live := make(map[string]bool, len(groups))
	byName := make(map[string]string, len(groups))
	for _, g := range groups {
		if g.DeletionTimestamp != nil {
			continue
		}
		live[g.Name] = true
		// Two groups never share a displayName on one endpoint; should
		// they, the smallest id wins so every pass picks the same one.
		if name := strings.ToLower(g.Spec.DisplayName); byName[name] == "" || g.Name < byName[name] {
			byName[name] = g.Name
		}
	}
	sc := scope{ids: make(map[string]bool, len(names))}
	for _, n := range names {
		id, ok := pins[n]
		if !ok || !live[id] {
			if named, found := byName[strings.ToLower(n)]; found {
				id, ok = named, true
			}
		}
		if !ok {
			sc.missing = append(sc.missing, n)
			continue
		}
		sc.pins = append(sc.pins, scimv1.PinnedGroup{DisplayName: n, ID: id})
		if live[id] {
			sc.ids[id] = true
		} else {
			sc.gone = append(sc.gone, n)
		}
	}
	return sc
}

// members returns the ids of the direct user members of the scope's groups,
// nil when every user is in scope.
func (sc scope) members(in inputs) map[string]bool {
	if sc.all {
		return nil
	}
	members := map[string]bool{}
	for g, ms := range in.groupMembers() {
		if !sc.ids[g] {
			continue
		}
		for _, m := range ms {
			if m.IsUser() {
				members[m.Value] = true
			}
		}
	}
	return members
}
