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
// statements: upsert under the version guard, delete what is not desired,
// add missing memberships. Concurrent FullSyncs of one schema are serialised
// by an advisory lock so they cannot deadlock on each other's deletes.
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

	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	var res SyncResult
	err = p.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		res = SyncResult{Members: MembershipResult{Skipped: skipped}}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, lockKey("fullsync", p.schema)); err != nil {
			return fmt.Errorf("taking full sync lock: %w", err)
		}
		if err := p.loadDesired(ctx, tx, users, groups, pairs); err != nil {
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
func (p *Postgres) loadDesired(ctx context.Context, tx pgx.Tx, users []User, groups []Group, pairs []membership) error {
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
		if err := tx.QueryRow(ctx, c.sql).Scan(c.into); err != nil {
			return fmt.Errorf("%s: %w", c.what, err)
		}
	}
	writes := []struct {
		what string
		sql  string
		into *int
	}{
		{"upserting users", p.sql.syncUpsertUsers, &res.UsersUpserted},
		{"upserting groups", p.sql.syncUpsertGroups, &res.GroupsUpserted},
		{"removing memberships", p.sql.syncDeleteMembers, &res.Members.Removed},
		{"deleting users", p.sql.syncDeleteUsers, &res.UsersDeleted},
		{"deleting groups", p.sql.syncDeleteGroups, &res.GroupsDeleted},
		{"adding memberships", p.sql.syncInsertMembers, &res.Members.Added},
	}
	for _, w := range writes {
		tag, err := tx.Exec(ctx, w.sql)
		if err != nil {
			return fmt.Errorf("%s: %w", w.what, err)
		}
		*w.into = int(tag.RowsAffected())
	}
	return nil
}
