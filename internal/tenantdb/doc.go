// Package tenantdb projects SCIM users, groups and memberships into the
// PostgreSQL database of a tenant application (docs/tenant-database.md).
//
// Reconcilers depend on the small idempotent Client interface only; Postgres
// implements it with pgx, Fake in memory for unit tests. Every call has a
// per-call timeout (Config.Timeout), so a dead database delays projection
// instead of blocking a reconciler.
//
// # Table contract
//
// The operator owns three tables in one schema (Config.Schema, default
// "scim"), created and upgraded by Migrate from the numbered SQL files under
// migrations/, recorded in schema_migrations(version, applied_at). Tenant
// applications read them and never write them: anything they change is
// reverted by the next FullSync. docs/tenant-database.md is the contract for
// application authors; schema version 1 is:
//
//	users(id text primary key, external_id text, user_name text not null,
//	      display_name text, given_name text, family_name text, email text,
//	      active boolean not null, version bigint not null,
//	      updated_at timestamptz not null default now())
//	groups(id text primary key, external_id text, display_name text not null,
//	       version bigint not null, updated_at timestamptz not null default now())
//	group_members(group_id text references groups(id) on delete cascade,
//	              user_id text references users(id) on delete cascade,
//	              primary key (group_id, user_id))
//
// with indexes on lower(user_name), external_id, lower(display_name) and
// group_members(user_id). Empty optional attributes are stored as NULL.
// Version 2 adds the operator's internal tombstone tables
// deleted_users(id, version, deleted_at) and deleted_groups(...).
//
// # Version guard
//
// User.Version and Group.Version order the writes of one row. The reconciler
// passes the CR's metadata.generation, which the API server increments on
// every spec change and which never decreases for the life of an object. A
// row is overwritten only by a higher version, or by the same version with
// different content (a hand edit being repaired, or a new operator release
// mapping attributes differently); a lower version is ignored. So when two
// writers race (two replicas around a leader change, a FullSync from a stale
// cache) the row never goes backwards. A deleted and recreated CR starts at
// generation 1 again, which works because deleting the CR deletes its row
// first (finalizer). A row whose version was raised by hand is kept by every
// sync (FullSync counts it in UsersKept/GroupsKept); deleting the row lets the
// next FullSync write it again.
//
// Deletions are versioned too. DeleteUsers and DeleteGroups take the version
// at which the resource lost its row (its generation when deleted, deactivated
// or taken out of scope): a row holding a newer version is spared, and the
// deletion leaves a tombstone (id, version) that makes later writes of an
// older version no-ops, so a stale writer cannot bring a deleted row back. A
// write of the tombstone's version or newer recreates the row and clears the
// tombstone (a user leaving and re-entering a scope keeps its generation).
// FullSync buries the rows it deletes at the version State.DeletedUsers or
// DeletedGroups gives, else at the row's own, and prunes tombstones older
// than TombstoneRetention. Every write transaction holds the schema's write
// lock (an advisory lock), so a deletion and another writer's upsert of the
// same row never interleave: the later one sees the earlier.
//
// # Foreign keys
//
// group_members references users and groups with ON DELETE CASCADE, so a
// tenant application never sees a membership of a missing user, and deleting
// a user or group needs no separate membership cleanup. The price is
// ordering: users and groups must be written before memberships. SetMembers
// therefore skips (and counts in MembershipResult.Skipped) pairs whose rows
// do not exist yet instead of failing the whole batch, and FullSync orders its
// statements itself within one transaction.
//
// # Batching
//
// ApplyUsers, ApplyGroups and the deletes send Config.BatchSize rows per
// statement as arrays expanded with unnest (one round trip, one transaction
// per batch). SetMembers batches whole groups, so a membership is never seen
// half replaced. FullSync loads the complete desired state into temporary
// tables with COPY and merges it with set-based statements in a single
// transaction, under the same write lock.
//
// The schema name is always quoted as an identifier and attribute values are
// always bound parameters, so neither can inject SQL.
package tenantdb
