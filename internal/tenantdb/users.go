package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// userColumnsOf returns the unnest parameters for users, in userColumns order.
func userColumnsOf(users []User) []any {
	n := len(users)
	ids, externalIDs, userNames := make([]string, n), make([]string, n), make([]string, n)
	displayNames, givenNames, familyNames, emails := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	active, versions := make([]bool, n), make([]int64, n)
	for i, u := range users {
		ids[i], externalIDs[i], userNames[i] = u.ID, u.ExternalID, u.UserName
		displayNames[i], givenNames[i], familyNames[i], emails[i] = u.DisplayName, u.GivenName, u.FamilyName, u.Email
		active[i], versions[i] = u.Active, u.Version
	}
	return []any{ids, externalIDs, userNames, displayNames, givenNames, familyNames, emails, active, versions}
}

// ApplyUsers upserts users, one transaction per batch. Batches already
// written stay written when a later one fails; repeating the call is safe.
func (p *Postgres) ApplyUsers(ctx context.Context, users []User) error {
	users, err := normalizeUsers(users)
	if err != nil {
		return err
	}
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	for _, b := range batches(len(users), p.batchSize) {
		err := p.inWriteTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, p.sql.upsertUsers, userColumnsOf(users[b[0]:b[1]])...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, p.sql.clearUserTombstones)
			return err
		})
		if err != nil {
			return fmt.Errorf("upserting users: %w", err)
		}
	}
	return nil
}

// DeleteUsers deletes users in batches, sparing rows of a newer version, and
// records their tombstones; their memberships go with them (ON DELETE CASCADE).
func (p *Postgres) DeleteUsers(ctx context.Context, users []Deletion) error {
	users, err := normalizeDeletions("user", users)
	if err != nil {
		return err
	}
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	for _, b := range batches(len(users), p.batchSize) {
		ids, versions := deletionColumns(users[b[0]:b[1]])
		err := p.inWriteTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, p.sql.deleteUsers, ids, versions); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, p.sql.tombstoneUsers, ids, versions)
			return err
		})
		if err != nil {
			return fmt.Errorf("deleting users: %w", err)
		}
	}
	return nil
}
