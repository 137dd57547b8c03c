package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// validPairs splits pairs into those whose group and user are in the desired
// state and the number of others, which FullSync skips.
func validPairs(users []User, groups []Group, pairs []membership) ([]membership, int) {
	userIDs := make(map[string]struct{}, len(users))
	for _, u := range users {
		userIDs[u.ID] = struct{}{}
	}
	groupIDs := make(map[string]struct{}, len(groups))
	for _, g := range groups {
		groupIDs[g.ID] = struct{}{}
	}
	valid := make([]membership, 0, len(pairs))
	for _, m := range pairs {
		_, okU := userIDs[m.UserID]
		_, okG := groupIDs[m.GroupID]
		if okU && okG {
			valid = append(valid, m)
		}
	}
	return valid, len(pairs) - len(valid)
}

// FullSync makes the tables equal to state in one transaction. The desired
// rows are loaded with COPY into temporary tables and merged with set-based
// statements: desired rows older than a tombstone are dropped, the rest
// upserted under the version guard, rows not desired deleted (leaving
// tombstones), missing memberships added. Like every write it holds the
// schema's write lock, so concurrent FullSyncs cannot deadlock on each
// other's deletes.
func (p *Postgres) FullSync(ctx context.Context, state State) (SyncResult, error) {
	users, err := normalizeUsers(state.Users)
	if err != nil {
		return SyncResult{}, err
	}
	groups, err := normalizeGroups(state.Groups)
	if err != nil {
		return SyncResult{}, err
	}
	_, pairs, err := normalizeMembers(state.Members)
	if err != nil {
		return SyncResult{}, err
	}
	pairs, skipped := validPairs(users, groups, pairs)
	deleted, err := stateDeletions(state)
	if err != nil {
		return SyncResult{}, err
	}

	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	var res SyncResult
	err = p.inWriteTx(ctx, func(tx pgx.Tx) error {
		res = SyncResult{Members: MembershipResult{Skipped: skipped}}
		if err := p.loadDesired(ctx, tx, users, groups, pairs, deleted); err != nil {
			return err
		}
		if err := p.dropBuried(ctx, tx, &res); err != nil {
			return err
		}
		return p.merge(ctx, tx, &res)
	})
	if err != nil {
		return SyncResult{}, fmt.Errorf("full sync of schema %s: %w", p.sql.schema, err)
	}
	return res, nil
}

// loadDesired copies the desired state into the transaction's temporary
// tables and analyses them, so the merge plans from real row counts.
func (p *Postgres) loadDesired(ctx context.Context, tx pgx.Tx, users []User, groups []Group, pairs []membership, deleted []kindDeletion) error {
	if _, err := tx.Exec(ctx, p.sql.syncCreateTemp); err != nil {
		return fmt.Errorf("creating temporary tables: %w", err)
	}
	copies := []struct {
		table   string
		columns []string
		rows    pgx.CopyFromSource
	}{
		{"tenantdb_desired_users", []string{"id", "external_id", "user_name", "display_name", "given_name", "family_name", "email", "active", "version"},
			pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
				u := users[i]
				return []any{u.ID, u.ExternalID, u.UserName, u.DisplayName, u.GivenName, u.FamilyName, u.Email, u.Active, u.Version}, nil
			})},
		{"tenantdb_desired_groups", []string{"id", "external_id", "display_name", "version"},
			pgx.CopyFromSlice(len(groups), func(i int) ([]any, error) {
				g := groups[i]
				return []any{g.ID, g.ExternalID, g.DisplayName, g.Version}, nil
			})},
		{"tenantdb_desired_members", []string{"group_id", "user_id"},
			pgx.CopyFromSlice(len(pairs), func(i int) ([]any, error) {
				return []any{pairs[i].GroupID, pairs[i].UserID}, nil
			})},
		{"tenantdb_deleted", []string{"kind", "id", "version"},
			pgx.CopyFromSlice(len(deleted), func(i int) ([]any, error) {
				return []any{deleted[i].kind, deleted[i].ID, deleted[i].Version}, nil
			})},
	}
	for _, c := range copies {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", c.table}, c.columns, c.rows); err != nil {
			return fmt.Errorf("loading %s: %w", c.table, err)
		}
	}
	if _, err := tx.Exec(ctx, p.sql.syncAnalyzeTemp); err != nil {
		return fmt.Errorf("analysing temporary tables: %w", err)
	}
	return nil
}

// dropBuried removes from the loaded desired state the rows older than a
// tombstone (a stale writer's view of a deleted user or group), counting
// them as kept, and the memberships naming them, counting those as skipped.
func (p *Postgres) dropBuried(ctx context.Context, tx pgx.Tx, res *SyncResult) error {
	users, err := tx.Exec(ctx, p.sql.syncDropBuriedUsers)
	if err != nil {
		return fmt.Errorf("dropping deleted users from the desired state: %w", err)
	}
	groups, err := tx.Exec(ctx, p.sql.syncDropBuriedGroups)
	if err != nil {
		return fmt.Errorf("dropping deleted groups from the desired state: %w", err)
	}
	res.UsersKept += int(users.RowsAffected())
	res.GroupsKept += int(groups.RowsAffected())
	if users.RowsAffected()+groups.RowsAffected() == 0 {
		return nil
	}
	pairs, err := tx.Exec(ctx, p.sql.syncDropOrphanPairs)
	if err != nil {
		return fmt.Errorf("dropping memberships of deleted rows: %w", err)
	}
	res.Members.Skipped += int(pairs.RowsAffected())
	return nil
}

// merge applies the loaded desired state. Memberships that should not exist
// go first, so the later user and group deletions cascade to nothing and the
// counts are exact.
func (p *Postgres) merge(ctx context.Context, tx pgx.Tx, res *SyncResult) error {
	counts := []struct {
		what string
		sql  string
		into *int
	}{
		{"counting kept users", p.sql.syncKeptUsers, &res.UsersKept},
		{"counting kept groups", p.sql.syncKeptGroups, &res.GroupsKept},
	}
	for _, c := range counts {
		var n int
		if err := tx.QueryRow(ctx, c.sql).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
		*c.into += n
	}
	writes := []struct {
		what string
		sql  string
		into *int
	}{
		{"upserting users", p.sql.syncUpsertUsers, &res.UsersUpserted},
		{"upserting groups", p.sql.syncUpsertGroups, &res.GroupsUpserted},
		{"clearing user tombstones", p.sql.clearUserTombstones, nil},
		{"clearing group tombstones", p.sql.clearGroupTombstones, nil},
		{"removing memberships", p.sql.syncDeleteMembers, &res.Members.Removed},
		{"deleting users", p.sql.syncDeleteUsers, &res.UsersDeleted},
		{"deleting groups", p.sql.syncDeleteGroups, &res.GroupsDeleted},
		{"pruning tombstones", p.sql.pruneTombstones, nil},
		{"adding memberships", p.sql.syncInsertMembers, &res.Members.Added},
	}
	for _, w := range writes {
		tag, err := tx.Exec(ctx, w.sql)
		if err != nil {
			return fmt.Errorf("%s: %w", w.what, err)
		}
		if w.into != nil {
			*w.into = int(tag.RowsAffected())
		}
	}
	return nil
}

// kindDeletion is a Deletion of a user or a group, for FullSync's COPY.
type kindDeletion struct {
	kind string
	Deletion
}

// stateDeletions validates and flattens state.DeletedUsers and DeletedGroups.
func stateDeletions(state State) ([]kindDeletion, error) {
	out := make([]kindDeletion, 0, len(state.DeletedUsers)+len(state.DeletedGroups))
	for kind, m := range map[string]map[string]int64{"user": state.DeletedUsers, "group": state.DeletedGroups} {
		for id, v := range m {
			if id == "" {
				return nil, fmt.Errorf("%w: empty %s id among deletions", ErrInvalid, kind)
			}
			out = append(out, kindDeletion{kind: kind, Deletion: Deletion{ID: id, Version: v}})
		}
	}
	return out, nil
}
