package tenantdb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Client for a real PostgreSQL database.
type Postgres struct {
	pool      *pgxpool.Pool
	schema    string
	timeout   time.Duration
	batchSize int
	sql       statements
}

var _ Client = (*Postgres)(nil)

// New returns a Client for cfg. It does not connect: a database that is down
// is reported by the first call (Ping, usually), not by New, so the operator
// can start and retry later.
func New(ctx context.Context, cfg Config) (*Postgres, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's parse errors can quote the DSN; do not pass them on.
		return nil, fmt.Errorf("%w: the tenant database DSN cannot be parsed", ErrInvalid)
	}
	if err := checkTLS(&pc.ConnConfig.Config, cfg.TLS); err != nil {
		return nil, err
	}
	if err := applyRootCAs(&pc.ConnConfig.Config, cfg.TLS); err != nil {
		return nil, err
	}
	pc.MaxConns = cfg.MaxConns
	// A stalled network or server must fail a call within its Timeout and
	// let the next one open a fresh connection; see DefaultConnectTimeout.
	if pc.ConnConfig.ConnectTimeout <= 0 {
		pc.ConnConfig.ConnectTimeout = min(DefaultConnectTimeout, cfg.Timeout)
	}
	if pc.PingTimeout <= 0 {
		pc.PingTimeout = min(DefaultPingTimeout, cfg.Timeout)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("creating connection pool: %w", err)
	}
	return &Postgres{
		pool:      pool,
		schema:    cfg.Schema,
		timeout:   cfg.Timeout,
		batchSize: cfg.BatchSize,
		sql:       newStatements(cfg.Schema),
	}, nil
}

// withTimeout bounds one call.
func (p *Postgres) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.timeout)
}

// Ping reports whether the database answers within the call timeout.
func (p *Postgres) Ping(ctx context.Context) error {
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging tenant database: %w", err)
	}
	return nil
}

// Close releases all connections.
func (p *Postgres) Close() { p.pool.Close() }

// inTx runs fn in one transaction, committing when it returns nil.
func (p *Postgres) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, p.pool, opts, fn)
}

// TombstoneRetention is how long a deletion's tombstone is kept: far longer
// than any stale writer (a replica around a leader change, a resync computed
// from an old cache) can lag behind. Full syncs prune older ones.
const TombstoneRetention = 24 * time.Hour

// inWriteTx runs fn in a transaction holding the schema's write lock. Every
// write takes it, so a deletion and its tombstone are never interleaved with
// another writer's upsert of the same row: whichever commits second sees the
// first.
func (p *Postgres) inWriteTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return p.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, lockKey("write", p.schema)); err != nil {
			return fmt.Errorf("taking write lock: %w", err)
		}
		return fn(tx)
	})
}

// batches splits n items into [start, end) ranges of at most size.
func batches(n, size int) [][2]int {
	var out [][2]int
	for start := 0; start < n; start += size {
		out = append(out, [2]int{start, min(start+size, n)})
	}
	return out
}
