package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// memberBatch is the unit of one SetMembers transaction: whole groups, so a
// group's membership is never seen half replaced.
type memberBatch struct {
	groups []string
	pairs  []membership
}

// memberBatches packs sorted groups and their sorted pairs into batches of
// about size pairs. A group larger than size forms a batch of its own.
func memberBatches(groups []string, pairs []membership, size int) []memberBatch {
	var out []memberBatch
	var cur memberBatch
	cost, i := 0, 0
	for _, g := range groups {
		j := i
		for j < len(pairs) && pairs[j].GroupID == g {
			j++
		}
		cur.groups = append(cur.groups, g)
		cur.pairs = append(cur.pairs, pairs[i:j]...)
		cost += max(1, j-i)
		i = j
		if cost >= size {
			out = append(out, cur)
			cur, cost = memberBatch{}, 0
		}
	}
	if len(cur.groups) > 0 {
		out = append(out, cur)
	}
	return out
}

// pairColumns returns the unnest parameters for pairs: group ids, user ids.
func pairColumns(pairs []membership) (groupIDs, userIDs []string) {
	groupIDs, userIDs = make([]string, len(pairs)), make([]string, len(pairs))
	for i, m := range pairs {
		groupIDs[i], userIDs[i] = m.GroupID, m.UserID
	}
	return groupIDs, userIDs
}

// SetMembers replaces the memberships of the given groups, one transaction
// per batch of whole groups. Pairs naming a group or user without a row are
// skipped and counted: write users and groups first.
func (p *Postgres) SetMembers(ctx context.Context, members map[string][]string) (MembershipResult, error) {
	groups, pairs, err := normalizeMembers(members)
	if err != nil {
		return MembershipResult{}, err
	}
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	var res MembershipResult
	for _, b := range memberBatches(groups, pairs, p.batchSize) {
		err := p.inWriteTx(ctx, func(tx pgx.Tx) error {
			groupIDs, userIDs := pairColumns(b.pairs)
			tag, err := tx.Exec(ctx, p.sql.replaceMembersDelete, b.groups, groupIDs, userIDs)
			if err != nil {
				return fmt.Errorf("removing memberships: %w", err)
			}
			var valid, added int
			if err := tx.QueryRow(ctx, p.sql.insertMembers, groupIDs, userIDs).Scan(&valid, &added); err != nil {
				return fmt.Errorf("adding memberships: %w", err)
			}
			res.Removed += int(tag.RowsAffected())
			res.Added += added
			res.Skipped += len(b.pairs) - valid
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("replacing memberships: %w", err)
		}
	}
	return res, nil
}
