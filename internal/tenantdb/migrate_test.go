package tenantdb_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

func TestMigrateIdempotent(t *testing.T) {
	dsn := pgtest.NewDatabase(t, server)
	c := newPostgres(t, tenantdb.Config{DSN: dsn})
	for i := range 2 {
		v, err := c.Migrate(context.Background())
		if err != nil || v != latestVersion {
			t.Fatalf("Migrate #%d: got %d, %v; want %d", i+2, v, err, latestVersion)
		}
	}
	if n := count(t, dsn, `SELECT count(*) FROM scim.schema_migrations`); n != latestVersion {
		t.Errorf("schema_migrations rows: got %d, want %d", n, latestVersion)
	}
}

func TestMigrateRace(t *testing.T) {
	dsn := pgtest.NewDatabase(t, server)
	const replicas = 4
	versions := make([]int, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		c, err := tenantdb.New(context.Background(), tenantdb.Config{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			versions[i], errs[i] = c.Migrate(context.Background())
		})
	}
	close(start)
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil || versions[i] != latestVersion {
			t.Errorf("replica %d: Migrate = %d, %v; want %d, nil", i, versions[i], errs[i], latestVersion)
		}
	}
	if n := count(t, dsn, `SELECT count(*) FROM scim.schema_migrations`); n != latestVersion {
		t.Errorf("schema_migrations rows: got %d, want %d", n, latestVersion)
	}
	if n := count(t, dsn, `SELECT count(*) FROM pg_tables WHERE schemaname = 'scim'`); n != 6 {
		t.Errorf("tables in schema scim: got %d, want 6", n)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.NewDatabase(t, server)
	newPostgres(t, tenantdb.Config{DSN: dsn})
	exec(t, dsn, `INSERT INTO scim.schema_migrations (version) VALUES ($1)`, latestVersion+1)
	c := newClient(t, tenantdb.Config{DSN: dsn})
	if _, err := c.Migrate(context.Background()); !errors.Is(err, tenantdb.ErrSchemaTooNew) {
		t.Errorf("Migrate on a newer schema: want ErrSchemaTooNew, got %v", err)
	}
}

// newClient returns an unmigrated client, closed when the test ends.
func newClient(t *testing.T, cfg tenantdb.Config) *tenantdb.Postgres {
	t.Helper()
	c, err := tenantdb.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestOddSchemaNames(t *testing.T) {
	dsn := pgtest.NewDatabase(t, server)
	for _, schema := range []string{`my"schema`, `x"; DROP SCHEMA public CASCADE; --`, `Ünïcode schema`, `users`} {
		t.Run(schema, func(t *testing.T) {
			ctx := context.Background()
			c := newPostgres(t, tenantdb.Config{DSN: dsn, Schema: schema})
			if err := c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)}); err != nil {
				t.Fatalf("ApplyUsers: %v", err)
			}
			if _, err := c.FullSync(ctx, tenantdb.State{Users: []tenantdb.User{user("u-2", 1)}}); err != nil {
				t.Fatalf("FullSync: %v", err)
			}
			if n := count(t, dsn, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, schema); n != 6 {
				t.Errorf("tables in schema %q: got %d, want 6", schema, n)
			}
			if n := count(t, dsn, `SELECT count(*) FROM `+pgx.Identifier{schema, "users"}.Sanitize()+` WHERE id = 'u-2'`); n != 1 {
				t.Errorf("user written through FullSync: got %d rows, want 1", n)
			}
		})
	}
	if n := count(t, dsn, `SELECT count(*) FROM pg_namespace WHERE nspname = 'public'`); n != 1 {
		t.Errorf("schema public must survive a hostile schema name")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]struct {
		reason string
		cfg    tenantdb.Config
	}{
		"LongSchema": {
			reason: "A schema name PostgreSQL would truncate is refused.",
			cfg:    tenantdb.Config{DSN: "postgres://127.0.0.1/x", Schema: string(make([]byte, 64))},
		},
		"BadDSN": {
			reason: "An unparsable DSN is refused without quoting it (it may hold a password).",
			cfg:    tenantdb.Config{DSN: "postgres://u:s3cret@127.0.0.1:notaport/x"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tenantdb.New(context.Background(), tc.cfg)
			if !errors.Is(err, tenantdb.ErrInvalid) {
				t.Fatalf("%s\nNew: want ErrInvalid, got %v", tc.reason, err)
			}
			if msg := err.Error(); strings.Contains(msg, "s3cret") {
				t.Errorf("%s\nerror %q leaks the DSN", tc.reason, msg)
			}
		})
	}
}

func TestMigrateWithoutCreateOnDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, server)
	role := uniqueSchema("operator")
	exec(t, dsn, `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN`)
	t.Cleanup(func() {
		exec(t, dsn, `DROP OWNED BY `+pgx.Identifier{role}.Sanitize()+`; DROP ROLE `+pgx.Identifier{role}.Sanitize())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	roleDSN := u.String()

	c := newClient(t, tenantdb.Config{DSN: roleDSN})
	if _, err := c.Migrate(ctx); err == nil {
		t.Fatalf("Migrate by a role that may not create schemas: want an error, got nil")
	}
	// An administrator creates the schema for the role; from then on it works.
	exec(t, dsn, `CREATE SCHEMA scim AUTHORIZATION `+pgx.Identifier{role}.Sanitize())
	if v, err := c.Migrate(ctx); err != nil || v != latestVersion {
		t.Fatalf("Migrate into a schema created for the role: got %d, %v", v, err)
	}
	if _, err := c.FullSync(ctx, tenantdb.State{Users: []tenantdb.User{user("u-1", 1)}}); err != nil {
		t.Fatalf("FullSync as the role: %v", err)
	}
}
