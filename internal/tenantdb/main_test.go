package tenantdb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// server is the PostgreSQL shared by the tests of this package; each test
// gets its own database or schema on it.
var server *localpg.Server

func TestMain(m *testing.M) {
	os.Exit(pgtest.RunMain(m, func(s *localpg.Server) { server = s }))
}

// newPostgres returns a migrated client on a fresh database of the shared
// server, closed when the test ends.
func newPostgres(t testing.TB, cfg tenantdb.Config) *tenantdb.Postgres {
	t.Helper()
	if cfg.DSN == "" {
		cfg.DSN = pgtest.NewDatabase(t, server)
	}
	c, err := tenantdb.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	if _, err := c.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return c
}

// uniqueSchema returns a schema name no other test uses.
func uniqueSchema(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}
