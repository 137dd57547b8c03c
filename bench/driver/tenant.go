package driver

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// tenantDB reads the tables a TenantApp writes (schema "scim",
// docs/tenant-database.md), as the tenant application would.
type tenantDB struct{ pool *pgxpool.Pool }

func openTenantDB(ctx context.Context, dsn string) (*tenantDB, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return &tenantDB{pool: pool}, nil
}

func (t *tenantDB) close() { t.pool.Close() }

// rowCounts is how many rows the tenant tables hold.
type rowCounts struct{ ActiveUsers, Groups, Members int }

// counts returns the row counts; before the first pass creates the tables
// it returns zeros.
func (t *tenantDB) counts(ctx context.Context) rowCounts {
	var c rowCounts
	_ = t.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM scim.users WHERE active),
		(SELECT count(*) FROM scim.groups), (SELECT count(*) FROM scim.group_members)`).Scan(&c.ActiveUsers, &c.Groups, &c.Members)
	return c
}

// userIDs returns the ids of the active user rows.
func (t *tenantDB) userIDs(ctx context.Context) (map[string]bool, error) {
	rows, err := t.pool.Query(ctx, `SELECT id FROM scim.users WHERE active`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// waitInactive polls the user's row every 2 ms until it reads active=false.
func (t *tenantDB) waitInactive(ctx context.Context, id string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		var active bool
		err := t.pool.QueryRow(ctx, `SELECT active FROM scim.users WHERE id = $1`, id).Scan(&active)
		if err == nil && !active {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tenant row of user %s not inactive within %s (last: active=%v, %v)", id, limit, active, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}
