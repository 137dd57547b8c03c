package tenantdb

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Observe reads all three tables from one snapshot (a read-only repeatable
// read transaction), so the result never mixes two moments.
func (p *Postgres) Observe(ctx context.Context) (State, error) {
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	var st State
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := p.inTx(ctx, opts, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, p.sql.selectUsers)
		users, err := pgx.CollectRows(rows, pgx.RowToStructByPos[User])
		if err != nil {
			return fmt.Errorf("reading users: %w", err)
		}
		rows, _ = tx.Query(ctx, p.sql.selectGroups)
		groups, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Group])
		if err != nil {
			return fmt.Errorf("reading groups: %w", err)
		}
		rows, _ = tx.Query(ctx, p.sql.selectMembers)
		pairs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[membership])
		if err != nil {
			return fmt.Errorf("reading memberships: %w", err)
		}
		st = State{Users: users, Groups: groups, Members: map[string][]string{}}
		for _, m := range pairs {
			st.Members[m.GroupID] = append(st.Members[m.GroupID], m.UserID)
		}
		return nil
	})
	if err != nil {
		return State{}, fmt.Errorf("observing tenant database: %w", err)
	}
	return st, nil
}
