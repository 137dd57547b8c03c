package tenantdb

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// statements holds every SQL text of a client, built once from the schema
// name. Only quoted identifiers are ever spliced in; values always travel as
// parameters.
type statements struct {
	schema, users, groups, members, migrations string
	deletedUsers, deletedGroups                string

	upsertUsers, upsertGroups                string
	deleteUsers, deleteGroups                string
	replaceMembersDelete, insertMembers      string
	selectUsers, selectGroups, selectMembers string
	syncUpsertUsers, syncUpsertGroups        string
	syncKeptUsers, syncKeptGroups            string
	syncDeleteUsers, syncDeleteGroups        string
	syncDeleteMembers, syncInsertMembers     string
	syncCreateTemp, syncAnalyzeTemp          string

	// Tombstones: recorded by deletions, consulted by upserts.
	tombstoneUsers, tombstoneGroups           string
	clearUserTombstones, clearGroupTombstones string
	syncDropBuriedUsers, syncDropBuriedGroups string
	syncDropOrphanPairs, pruneTombstones      string
}

// Column lists shared by the statements below; their order is the order of
// the unnest parameters and of the COPY columns.
const (
	userColumns  = "id, external_id, user_name, display_name, given_name, family_name, email, active, version"
	groupColumns = "id, external_id, display_name, version"
)

// userValues turns the empty optional strings of a source row d into NULL.
const userValues = `d.id, nullif(d.external_id, ''), d.user_name, nullif(d.display_name, ''),
	nullif(d.given_name, ''), nullif(d.family_name, ''), nullif(d.email, ''), d.active, d.version`

const groupValues = `d.id, nullif(d.external_id, ''), d.display_name, d.version`

// Temporary tables FullSync loads the desired state into with COPY.
const (
	tmpUsers   = "pg_temp.tenantdb_desired_users"
	tmpGroups  = "pg_temp.tenantdb_desired_groups"
	tmpMembers = "pg_temp.tenantdb_desired_members"
	tmpDeleted = "pg_temp.tenantdb_deleted"
)

// newStatements builds the statements for schema.
func newStatements(schema string) statements {
	q := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	s := statements{
		schema:     pgx.Identifier{schema}.Sanitize(),
		users:      q("users"),
		groups:     q("groups"),
		members:    q("group_members"),
		migrations: q("schema_migrations"),

		deletedUsers:  q("deleted_users"),
		deletedGroups: q("deleted_groups"),
	}
	usersFromArrays := `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], $9::bigint[])
	AS d(` + userColumns + `)`
	groupsFromArrays := `unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS d(` + groupColumns + `)`

	s.upsertUsers = upsertUsersSQL(s.users, s.deletedUsers, usersFromArrays)
	s.upsertGroups = upsertGroupsSQL(s.groups, s.deletedGroups, groupsFromArrays)
	s.syncUpsertUsers = upsertUsersSQL(s.users, s.deletedUsers, tmpUsers+" AS d")
	s.syncUpsertGroups = upsertGroupsSQL(s.groups, s.deletedGroups, tmpGroups+" AS d")

	// Deletions ($1 ids, $2 versions) spare rows holding a newer version,
	// then leave a tombstone for every id that has no row any more.
	deletions := `unnest($1::text[], $2::bigint[]) AS d(id, version)`
	s.deleteUsers = `DELETE FROM ` + s.users + ` AS t USING ` + deletions + ` WHERE t.id = d.id AND t.version <= d.version`
	s.deleteGroups = `DELETE FROM ` + s.groups + ` AS t USING ` + deletions + ` WHERE t.id = d.id AND t.version <= d.version`
	s.tombstoneUsers = tombstoneSQL(s.deletedUsers, s.users, deletions)
	s.tombstoneGroups = tombstoneSQL(s.deletedGroups, s.groups, deletions)
	// A tombstone whose id has a row again (a newer or equal version was
	// written) is obsolete.
	s.clearUserTombstones = `DELETE FROM ` + s.deletedUsers + ` AS x USING ` + s.users + ` AS t WHERE x.id = t.id`
	s.clearGroupTombstones = `DELETE FROM ` + s.deletedGroups + ` AS x USING ` + s.groups + ` AS t WHERE x.id = t.id`

	// Memberships of the listed groups ($1) that are not among the pairs
	// ($2, $3). EXCEPT is a hash or sort set operation whatever the planner
	// guesses about the arrays' sizes, unlike an anti-join, which degrades to
	// a nested loop for a 100,000-member group on a wrong estimate.
	s.replaceMembersDelete = `DELETE FROM ` + s.members + ` AS m USING (
		SELECT group_id, user_id FROM ` + s.members + ` WHERE group_id = ANY($1::text[])
		EXCEPT
		SELECT * FROM unnest($2::text[], $3::text[])
	) AS x WHERE m.group_id = x.group_id AND m.user_id = x.user_id`
	s.insertMembers = insertMembersSQL(s, `unnest($1::text[], $2::text[]) AS d(group_id, user_id)`)
	// FullSync loads only pairs whose group and user are desired, and those
	// rows exist by the time this runs: no join needed.
	s.syncInsertMembers = `INSERT INTO ` + s.members + ` (group_id, user_id)
	SELECT group_id, user_id FROM ` + tmpMembers + ` ORDER BY group_id, user_id
	ON CONFLICT DO NOTHING`

	s.selectUsers = `SELECT id, coalesce(external_id, ''), user_name, coalesce(display_name, ''),
	coalesce(given_name, ''), coalesce(family_name, ''), coalesce(email, ''), active, version
	FROM ` + s.users + ` ORDER BY id`
	s.selectGroups = `SELECT id, coalesce(external_id, ''), display_name, version FROM ` + s.groups + ` ORDER BY id`
	s.selectMembers = `SELECT group_id, user_id FROM ` + s.members + ` ORDER BY group_id, user_id`

	s.syncCreateTemp = `
	CREATE TEMP TABLE tenantdb_desired_users (id text, external_id text, user_name text, display_name text,
		given_name text, family_name text, email text, active boolean, version bigint) ON COMMIT DROP;
	CREATE TEMP TABLE tenantdb_desired_groups (id text, external_id text, display_name text, version bigint) ON COMMIT DROP;
	CREATE TEMP TABLE tenantdb_desired_members (group_id text, user_id text) ON COMMIT DROP;
	CREATE TEMP TABLE tenantdb_deleted (kind text, id text, version bigint) ON COMMIT DROP;`
	s.syncAnalyzeTemp = "ANALYZE " + tmpUsers + ", " + tmpGroups + ", " + tmpMembers
	s.syncKeptUsers = fmt.Sprintf(`SELECT count(*) FROM %s AS t JOIN %s AS d USING (id) WHERE t.version > d.version`, s.users, tmpUsers)
	s.syncKeptGroups = fmt.Sprintf(`SELECT count(*) FROM %s AS t JOIN %s AS d USING (id) WHERE t.version > d.version`, s.groups, tmpGroups)
	// Rows absent from the desired state go, leaving tombstones at their own
	// version (the deletion's is unknown here); RowsAffected counts them.
	s.syncDeleteUsers = syncBurySQL(s.users, s.deletedUsers, tmpUsers, "user")
	s.syncDeleteGroups = syncBurySQL(s.groups, s.deletedGroups, tmpGroups, "group")
	// Desired rows older than a tombstone are dropped before the merge, with
	// the pairs naming them.
	s.syncDropBuriedUsers = fmt.Sprintf(`DELETE FROM %s AS d USING %s AS x WHERE x.id = d.id AND x.version > d.version`, tmpUsers, s.deletedUsers)
	s.syncDropBuriedGroups = fmt.Sprintf(`DELETE FROM %s AS d USING %s AS x WHERE x.id = d.id AND x.version > d.version`, tmpGroups, s.deletedGroups)
	s.syncDropOrphanPairs = fmt.Sprintf(`DELETE FROM %s AS m WHERE NOT EXISTS (SELECT 1 FROM %s AS u WHERE u.id = m.user_id)
	OR NOT EXISTS (SELECT 1 FROM %s AS g WHERE g.id = m.group_id)`, tmpMembers, tmpUsers, tmpGroups)
	s.pruneTombstones = fmt.Sprintf(`WITH u AS (DELETE FROM %s WHERE deleted_at < now() - interval '%d seconds')
	DELETE FROM %s WHERE deleted_at < now() - interval '%d seconds'`,
		s.deletedUsers, int(TombstoneRetention.Seconds()), s.deletedGroups, int(TombstoneRetention.Seconds()))
	s.syncDeleteMembers = fmt.Sprintf(`DELETE FROM %s AS m WHERE NOT EXISTS (
	SELECT 1 FROM %s AS d WHERE d.group_id = m.group_id AND d.user_id = m.user_id)`, s.members, tmpMembers)
	return s
}

// upsertUsersSQL inserts users from source (aliased d) under the version
// guard: an existing row changes only for a newer version, or for the same
// version with different content, and a row is not recreated by a version
// older than its tombstone. Rows left alone are not counted.
func upsertUsersSQL(table, tombstones, source string) string {
	return `INSERT INTO ` + table + ` AS t (` + userColumns + `)
	SELECT ` + userValues + ` FROM ` + source + `
	WHERE NOT EXISTS (SELECT 1 FROM ` + tombstones + ` AS x WHERE x.id = d.id AND x.version > d.version)
	ON CONFLICT (id) DO UPDATE SET
		external_id = EXCLUDED.external_id, user_name = EXCLUDED.user_name,
		display_name = EXCLUDED.display_name, given_name = EXCLUDED.given_name,
		family_name = EXCLUDED.family_name, email = EXCLUDED.email,
		active = EXCLUDED.active, version = EXCLUDED.version, updated_at = now()
	WHERE t.version < EXCLUDED.version OR (t.version = EXCLUDED.version AND
		(t.external_id, t.user_name, t.display_name, t.given_name, t.family_name, t.email, t.active)
		IS DISTINCT FROM
		(EXCLUDED.external_id, EXCLUDED.user_name, EXCLUDED.display_name, EXCLUDED.given_name,
		 EXCLUDED.family_name, EXCLUDED.email, EXCLUDED.active))`
}

// upsertGroupsSQL is upsertUsersSQL for groups.
func upsertGroupsSQL(table, tombstones, source string) string {
	return `INSERT INTO ` + table + ` AS t (` + groupColumns + `)
	SELECT ` + groupValues + ` FROM ` + source + `
	WHERE NOT EXISTS (SELECT 1 FROM ` + tombstones + ` AS x WHERE x.id = d.id AND x.version > d.version)
	ON CONFLICT (id) DO UPDATE SET
		external_id = EXCLUDED.external_id, display_name = EXCLUDED.display_name,
		version = EXCLUDED.version, updated_at = now()
	WHERE t.version < EXCLUDED.version OR (t.version = EXCLUDED.version AND
		(t.external_id, t.display_name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.display_name))`
}

// insertMembersSQL adds the pairs of source (aliased d, columns group_id and
// user_id) whose group and user rows exist, and returns how many pairs were
// valid and how many rows were new.
func insertMembersSQL(s statements, source string) string {
	return `WITH valid AS (
		SELECT d.group_id, d.user_id FROM ` + source + `
		JOIN ` + s.groups + ` AS g ON g.id = d.group_id
		JOIN ` + s.users + ` AS u ON u.id = d.user_id
	), added AS (
		INSERT INTO ` + s.members + ` (group_id, user_id)
		SELECT group_id, user_id FROM valid ORDER BY group_id, user_id
		ON CONFLICT DO NOTHING RETURNING 1
	)
	SELECT (SELECT count(*) FROM valid), (SELECT count(*) FROM added)`
}

// tombstoneSQL records the deletions of source (aliased d: id, version) whose
// id has no row in table, keeping the highest version per id.
func tombstoneSQL(tombstones, table, source string) string {
	return `INSERT INTO ` + tombstones + ` AS x (id, version)
	SELECT d.id, d.version FROM ` + source + `
	WHERE NOT EXISTS (SELECT 1 FROM ` + table + ` AS t WHERE t.id = d.id)
	ON CONFLICT (id) DO UPDATE SET version = greatest(x.version, EXCLUDED.version), deleted_at = now()`
}

// syncBurySQL deletes the rows of table absent from the desired temporary
// table and records their tombstones, at the version the caller gave for the
// id (tmpDeleted rows of kind) when higher than the row's.
func syncBurySQL(table, tombstones, desired, kind string) string {
	return `WITH gone AS (
		DELETE FROM ` + table + ` AS t WHERE NOT EXISTS (SELECT 1 FROM ` + desired + ` AS d WHERE d.id = t.id)
		RETURNING t.id, t.version
	)
	INSERT INTO ` + tombstones + ` AS x (id, version)
	SELECT g.id, greatest(g.version, coalesce(max(k.version), 0)) FROM gone AS g
	LEFT JOIN ` + tmpDeleted + ` AS k ON k.kind = '` + kind + `' AND k.id = g.id
	GROUP BY g.id, g.version
	ON CONFLICT (id) DO UPDATE SET version = greatest(x.version, EXCLUDED.version), deleted_at = now()`
}
