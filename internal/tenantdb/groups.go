package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// groupColumnsOf returns the unnest parameters for groups, in groupColumns order.
func groupColumnsOf(groups []Group) []any {
	ids, externalIDs, displayNames := make([]string, len(groups)), make([]string, len(groups)), make([]string, len(groups))
	versions := make([]int64, len(groups))
	for i, g := range groups {
		ids[i], externalIDs[i], displayNames[i], versions[i] = g.ID, g.ExternalID, g.DisplayName, g.Version
	}
	return []any{ids, externalIDs, displayNames, versions}
}

// ApplyGroups upserts groups, one transaction per batch.
func (p *Postgres) ApplyGroups(ctx context.Context, groups []Group) error {
	groups, err := normalizeGroups(groups)
	if err != nil {
		return err
	}
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	for _, b := range batches(len(groups), p.batchSize) {
		err := p.inWriteTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, p.sql.upsertGroups, groupColumnsOf(groups[b[0]:b[1]])...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, p.sql.clearGroupTombstones)
			return err
		})
		if err != nil {
			return fmt.Errorf("upserting groups: %w", err)
		}
	}
	return nil
}

// DeleteGroups deletes groups like DeleteUsers deletes users; their
// memberships go with them (ON DELETE CASCADE).
func (p *Postgres) DeleteGroups(ctx context.Context, groups []Deletion) error {
	groups, err := normalizeDeletions("group", groups)
	if err != nil {
		return err
	}
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	for _, b := range batches(len(groups), p.batchSize) {
		ids, versions := deletionColumns(groups[b[0]:b[1]])
		err := p.inWriteTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, p.sql.deleteGroups, ids, versions); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, p.sql.tombstoneGroups, ids, versions)
			return err
		})
		if err != nil {
			return fmt.Errorf("deleting groups: %w", err)
		}
	}
	return nil
}
