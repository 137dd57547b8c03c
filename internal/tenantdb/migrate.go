package tenantdb

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFiles are the versioned schema migrations, named NNNN_title.sql.
// A released file is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew is returned by Migrate when the database was migrated by a
// newer operator: an older one must not write tables it does not know.
var ErrSchemaTooNew = errors.New("tenant database schema is newer than this operator")

// migration is one embedded migration file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations in version order. It fails
// on a misnamed file or a duplicate version, which a unit test catches.
func loadMigrations(files fs.FS) ([]migration, error) {
	paths, err := fs.Glob(files, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, p := range paths {
		name := path.Base(p)
		prefix, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_title.sql", name)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, version)
		}
		seen[version] = name
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		out = append(out, migration{version: version, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate creates the schema and applies pending migrations in one
// transaction that holds an advisory lock keyed on the schema name: replicas
// racing at startup queue behind each other, and the later ones find nothing
// to do. It returns the resulting schema version.
func (p *Postgres) Migrate(ctx context.Context) (int, error) {
	migrations, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0, err
	}
	latest := 0
	if n := len(migrations); n > 0 {
		latest = migrations[n-1].version
	}
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	version := 0
	err = p.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, lockKey("migrate", p.schema)); err != nil {
			return fmt.Errorf("taking migration lock: %w", err)
		}
		if err := p.bootstrap(ctx, tx); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+p.sql.migrations).Scan(&version); err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		if version > latest {
			return fmt.Errorf("%w: database has version %d, this operator knows up to %d", ErrSchemaTooNew, version, latest)
		}
		for _, m := range migrations {
			if m.version <= version {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("applying migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+p.sql.migrations+` (version) VALUES ($1)`, m.version); err != nil {
				return fmt.Errorf("recording migration %s: %w", m.name, err)
			}
			version = m.version
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("migrating schema %s: %w", p.sql.schema, err)
	}
	return version, nil
}

// bootstrap creates the schema when missing and the schema_migrations table,
// and points search_path at the schema for the migrations. The schema is only
// created when absent, so a role without CREATE on the database can use a
// schema an administrator created for it.
func (p *Postgres) bootstrap(ctx context.Context, tx pgx.Tx) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, p.schema).Scan(&exists); err != nil {
		return fmt.Errorf("looking up schema: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+p.sql.schema); err != nil {
			return fmt.Errorf("creating schema: %w", err)
		}
	}
	setup := `SET LOCAL search_path TO ` + p.sql.schema + `;
	CREATE TABLE IF NOT EXISTS ` + p.sql.migrations + ` (
		version integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`
	if _, err := tx.Exec(ctx, setup); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	return nil
}

// lockKey names an advisory lock of this package for a schema; PostgreSQL
// hashes it to the lock's 64-bit key.
func lockKey(purpose, schema string) string {
	return "scim-operator/tenantdb/" + purpose + "/" + schema
}
