package tenantdb

import "context"

// Client is everything a reconciler may do to a tenant database. Every call is
// idempotent, bounded by a per-call timeout, and safe to repeat after an
// error, so a database that is down only delays projection.
type Client interface {
	// Migrate creates the schema and applies the embedded migrations under an
	// advisory lock, so racing operator replicas are safe. It returns the
	// schema version.
	Migrate(ctx context.Context) (int, error)
	// ApplyUsers upserts users in batches. A row is only overwritten by a
	// newer Version (or the same Version with different content), so a stale
	// writer never undoes a newer write.
	ApplyUsers(ctx context.Context, users []User) error
	// DeleteUsers removes users and, by cascade, their memberships, unless
	// the row holds a newer version than the deletion. It leaves a tombstone,
	// so no older write brings the row back; unknown ids get one too.
	DeleteUsers(ctx context.Context, users []Deletion) error
	// ApplyGroups upserts groups with the same version guard as ApplyUsers.
	ApplyGroups(ctx context.Context, groups []Group) error
	// DeleteGroups removes groups and, by cascade, their memberships, with
	// the same version guard and tombstones as DeleteUsers.
	DeleteGroups(ctx context.Context, groups []Deletion) error
	// SetMembers replaces the membership of each given group (the map keys)
	// with exactly the listed user ids. Pairs whose group or user row does not
	// exist are skipped and counted, so the caller can retry after projecting
	// them.
	SetMembers(ctx context.Context, members map[string][]string) (MembershipResult, error)
	// Observe returns what the tables hold, from one snapshot, for drift
	// detection.
	Observe(ctx context.Context) (State, error)
	// FullSync makes the tables equal to state in one transaction: it upserts
	// every user and group (version guard included), deletes rows absent from
	// state and replaces all memberships.
	FullSync(ctx context.Context, state State) (SyncResult, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections; the Client must not be used afterwards.
	Close()
}

// User is one row of the users table. Empty optional strings are stored as
// NULL, so tenant applications see "absent" rather than "".
type User struct {
	// ID is the SCIM id (the ScimUser's metadata.name); the primary key.
	ID          string
	ExternalID  string
	UserName    string
	DisplayName string
	GivenName   string
	FamilyName  string
	// Email is the primary (or first) email address.
	Email  string
	Active bool
	// Version orders writes of the same row; see the package documentation
	// for what the reconciler puts here.
	Version int64
}

// Group is one row of the groups table.
type Group struct {
	// ID is the SCIM id (the ScimGroup's metadata.name); the primary key.
	ID          string
	ExternalID  string
	DisplayName string
	// Version orders writes of the same row, like User.Version.
	Version int64
}

// Deletion removes the row of a user or group as of a version. A row holding
// a newer version stays; otherwise the row goes and a tombstone remembers the
// version, so that a later write of an older version is ignored (the same
// version is accepted: a user leaving and re-entering a TenantApp's scope
// keeps its generation). Tombstones are pruned after TombstoneRetention.
type Deletion struct {
	ID string
	// Version is the resource's generation when it lost its row (deleted,
	// deactivated, out of scope); when the resource is gone and the
	// generation unknown, the version of the row.
	Version int64
}

// State is the complete content of the tables: the desired state given to
// FullSync, or the observed state returned by Observe. Members maps a group
// id to its user ids. Observe returns everything sorted by id and omits
// groups without members.
type State struct {
	Users   []User
	Groups  []Group
	Members map[string][]string
	// DeletedUsers and DeletedGroups give FullSync, by id, the version at
	// which a resource that still exists lost its row (deactivated, out of
	// scope, being deleted). A row FullSync deletes leaves its tombstone at
	// that version when given, else at the row's own. Observe leaves them nil.
	DeletedUsers, DeletedGroups map[string]int64
}

// SyncResult counts what FullSync changed; all zero means the database had no
// drift, which makes it a natural metric for periodic resyncs.
type SyncResult struct {
	// UsersUpserted counts users inserted or changed, not those already equal.
	UsersUpserted int
	UsersDeleted  int
	// UsersKept counts users left alone because the stored Version, or the
	// version of a tombstone, is newer.
	UsersKept      int
	GroupsUpserted int
	GroupsDeleted  int
	// GroupsKept counts groups left alone because the stored Version, or
	// the version of a tombstone, is newer.
	GroupsKept int
	Members    MembershipResult
}

// MembershipResult counts what a membership replacement changed.
type MembershipResult struct {
	Added   int
	Removed int
	// Skipped counts requested pairs whose group or user has no row.
	Skipped int
}
