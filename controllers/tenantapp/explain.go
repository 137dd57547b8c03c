package tenantapp

import (
	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// What `kubectl scim` (internal/access, docs/kubectl.md) reads of the
// projection: which users a TenantApp's tables should hold, decided by the
// same functions the reconciler uses. The plugin reads the cluster only, never
// the tenant database.

// RowState is the row a TenantApp's users table should hold for one user.
type RowState string

// Row states.
const (
	// RowActive: a row with active=true.
	RowActive RowState = "Active"
	// RowInactive: a row with active=false (deactivated, policy Disable).
	RowInactive RowState = "Inactive"
	// RowInactiveIfPresent: outside the scope under policy Disable, a row
	// the user already has stays with active=false; none is created.
	RowInactiveIfPresent RowState = "InactiveIfPresent"
	// RowNone: no row (policy Delete, or the user is being deleted).
	RowNone RowState = "None"
)

// rowState is the row of user u, in the app's scope or not, under policy
// Disable (disable) or Delete.
func rowState(u *scimv1.ScimUser, inScope, disable bool) RowState {
	switch {
	case u.DeletionTimestamp != nil:
		return RowNone
	case inScope && u.Spec.Active:
		return RowActive
	case inScope && disable:
		return RowInactive
	case !inScope && disable:
		return RowInactiveIfPresent
	}
	return RowNone
}

// ExpectedRow is the row app's users table should hold for u, a user of the
// app's endpoint, in the app's scope or not.
func ExpectedRow(app *scimv1.TenantApp, u *scimv1.ScimUser, inScope bool) RowState {
	return rowState(u, inScope, policyOf(app) == scimv1.DeactivationDisable)
}

// Scope is a TenantApp's spec.scope.groups resolved as the reconciler
// resolves it: the status pins first, then displayNames.
type Scope struct {
	// All: no spec.scope.groups, every user of the endpoint is in scope.
	All bool
	// GroupIDs are the ids of the live groups whose direct members are in scope.
	GroupIDs map[string]bool
	// Missing are the names that have no pin and match no group: while
	// there is one, the app writes nothing (ScopeGroupNotFound).
	Missing []string
}

// ResolveScope resolves app's scope against groups, the endpoint's groups.
func ResolveScope(app *scimv1.TenantApp, groups []*scimv1.ScimGroup) Scope {
	sc := resolveScope(app, groups, nil)
	return Scope{All: sc.all, GroupIDs: sc.ids, Missing: sc.missing}
}
