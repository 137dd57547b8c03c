// Package tenantapp reconciles TenantApps: it keeps the users, groups and
// group_members tables of a tenant application's PostgreSQL database equal to
// the ScimUsers, ScimGroups and ScimMemberships of one endpoint
// (docs/tenant-database.md).
//
// # Passes
//
// Every reconcile of a TenantApp computes the desired rows from the informer
// cache (desiredRows, a pure function) and writes the difference to the
// database through tenantdb.Client:
//
//   - A full pass (tenantdb FullSync: one transaction, COPY plus set-based
//     merge) runs when this process has no trustworthy picture of the tables:
//     on start, after any database error, after a spec change, and every
//     spec.resyncInterval. It corrects drift: hand-edited rows are restored,
//     hand-deleted rows come back, rows of unknown users go away.
//   - An incremental pass diffs the desired rows against what the last pass
//     wrote (diffRows, pure) and sends only the changes, batched: one
//     ApplyUsers, ApplyGroups, SetMembers, DeleteUsers and DeleteGroups call
//     at most, however many SCIM requests the workqueue coalesced.
//
// Rows carry the resource's metadata.generation as their version, so a stale
// writer (a second replica, a resync from a slightly old cache) never moves a
// row backwards; see the tenantdb package documentation.
//
// # Scope and deactivation
//
// Without spec.scope.groups every user of the endpoint is in scope; with it,
// only direct members of the listed groups. Each name is resolved once to a
// group id (by displayName, case-insensitively) and pinned in
// status.scopeGroups (resolveScope): an IdP rename does not move the scope,
// and a deleted pinned group contributes no members. A user that is
// deactivated (active=false) or leaves the scope is treated alike: with
// deactivationPolicy Disable its row stays with active=false, with Delete it
// is removed. A user that was never in scope never gets a row. Groups are
// projected whole (every group of the endpoint), and their memberships for
// the users that have rows.
//
// When spec.endpoint names no ScimEndpoint, or a scope name has no pin and
// matches no group, the pass writes nothing and Ready is False
// (ReasonEndpointNotFound, ReasonScopeGroupNotFound): a typo is not an
// instruction to revoke everyone.
//
// # Deprovisioning guard
//
// Before a pass writes, it counts its revocations: rows active in the tables
// (the view, or after a start what Observe reads) that the pass makes
// inactive or removes, whatever the cause. It asks Reconciler.Guard
// (deprovision.Guard, shared by every projection of the operator) with that
// count; when the guard holds, the pass keeps every active row and its
// memberships, and writes the rest (new users, reactivations, changes).
//
// # Deletion and the escape hatch
//
// Before a user's row is first written the user gets the finalizer
// FinalizerUsers. When the user is deleted, each TenantApp of its endpoint
// deletes the row; the finalizer is removed once every TenantApp of the
// endpoint is known to hold no row for it. A database that is down therefore
// keeps the user in Terminating (the SCIM server already treats it as gone)
// until it comes back. For a database that is gone for good, set the
// annotation AnnotationSkipCleanup to "true" on the TenantApp (it stops
// holding deletions) or on a single ScimUser (it is released at once), or
// delete the TenantApp. Deleting a TenantApp leaves its tables in place and
// releases the users no other TenantApp needs.
//
// # Outages
//
// A failing database call marks DatabaseReachable=False (when a ping fails
// too), records an Event and the scim_tenantapp_database_up metric, and
// retries with exponential backoff (1 s doubling to 30 s). Nothing is lost:
// the desired state lives in the resources, and the first pass after an
// error is a full pass.
package tenantapp
