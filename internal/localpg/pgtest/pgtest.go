// Package pgtest gives tests a real PostgreSQL server from localpg: one per
// test, or one per test binary shared through TestMain, with a fresh database
// per test so tests stay independent without paying for a server each.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/scim-operator/scim-operator/internal/localpg"
)

// LogEnv names the environment variable that, when set to 1, sends the
// server's log to stderr; it is quiet otherwise because startup errors already
// quote the log's last lines.
const LogEnv = "PGTEST_LOG"

// setupTimeout bounds starting a server or creating a database in a test.
const setupTimeout = time.Minute

// options returns the options every test server uses: a temporary data
// directory that Stop removes, a free port, no fsync.
func options() localpg.Options {
	opts := localpg.Options{}
	if os.Getenv(LogEnv) == "1" {
		opts.Log = os.Stderr
	}
	return opts
}

// Start runs a server for one test and stops it when the test ends. A
// missing PostgreSQL installation fails the test with the install hint.
func Start(t testing.TB) *localpg.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := localpg.Start(ctx, options())
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return s
}

// RunMain starts one server for a whole test binary, hands it to use (which
// usually stores it in a variable of the test package), runs the tests and
// stops the server. It returns the exit code for os.Exit, for use in TestMain
// where no testing.TB exists yet.
func RunMain(m *testing.M, use func(*localpg.Server)) int {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	s, err := localpg.Start(ctx, options())
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting PostgreSQL: %v\n", err)
		return 1
	}
	use(s)
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping PostgreSQL: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// NewDatabase creates a database with a unique name on s and returns its
// DSN; it is dropped when the test ends (ignored if s is already stopped).
func NewDatabase(t testing.TB, s *localpg.Server) string {
	t.Helper()
	name := uniqueName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := s.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(s, name) })
	return s.DSN(name)
}

// dropDatabase removes a test database, disconnecting whoever still uses it.
func dropDatabase(s *localpg.Server, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// uniqueName derives a readable database name from the test name plus a
// random suffix, within PostgreSQL's 63-byte identifier limit.
func uniqueName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	suffix := make([]byte, 6)
	_, _ = io.ReadFull(rand.Reader, suffix)
	return "t_" + b.String() + "_" + hex.EncodeToString(suffix)
}
