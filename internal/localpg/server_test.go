package localpg_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
)

// dataDir returns a not yet existing directory that an unprivileged
// PostgreSQL user can reach. t.TempDir's parent has mode 0700, so it would
// not do when tests run as root.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

// queryInt runs a one-value query against dsn.
func queryInt(ctx context.Context, dsn, sql string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

// processGone reports whether pid no longer runs; a zombie counts as gone,
// since a container's init may never reap it.
func processGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestStartCreateDatabaseStop(t *testing.T) {
	ctx := context.Background()
	s, err := localpg.Start(ctx, localpg.Options{Dir: dataDir(t), Database: "app"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })

	if n, err := queryInt(ctx, s.DSN("app"), "SELECT 1"); err != nil || n != 1 {
		t.Fatalf("querying the database created by Options.Database: got %d, %v", n, err)
	}
	if err := s.CreateDatabase(ctx, `odd "name"`); err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	if err := s.CreateDatabase(ctx, `odd "name"`); err != nil {
		t.Fatalf("CreateDatabase of an existing database must succeed: %v", err)
	}
	if _, err := queryInt(ctx, s.DSN(`odd "name"`), "SELECT 1"); err != nil {
		t.Fatalf("connecting to the created database: %v", err)
	}
	if n, err := queryInt(ctx, s.DSN("app"), "SELECT count(*) FROM pg_settings WHERE name = 'fsync' AND setting = 'off'"); err != nil || n != 1 {
		t.Errorf("fsync should be off by default: got %d, %v", n, err)
	}

	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !processGone(pid) {
		t.Errorf("postgres (pid %d) still runs after Stop", pid)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop must be a no-op, got %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Errorf("Done not closed after Stop")
	}
	if _, err := queryInt(ctx, s.DSN("app"), "SELECT 1"); err == nil {
		t.Errorf("connecting after Stop succeeded")
	}
}

func TestRestartReusesData(t *testing.T) {
	ctx := context.Background()
	dir := dataDir(t)
	first, err := localpg.Start(ctx, localpg.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	conn, err := pgx.Connect(ctx, first.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	second, err := localpg.Start(ctx, localpg.Options{Dir: dir})
	if err != nil {
		t.Fatalf("restarting on the same Dir: %v", err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	if n, err := queryInt(ctx, second.DSN("postgres"), "SELECT n FROM kept"); err != nil || n != 42 {
		t.Errorf("data written before the restart: got %d, %v; want 42", n, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a caller-provided Dir must survive Stop: %v", err)
	}
}

func TestTemporaryDirRemovedOnStop(t *testing.T) {
	s := pgtest.Start(t)
	dir := s.Dir()
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data directory %s should be removed by Stop, stat: %v", dir, err)
	}
}

func TestStartErrors(t *testing.T) {
	notEmpty := dataDir(t)
	if err := os.MkdirAll(notEmpty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notEmpty, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	type startCase struct {
		reason  string
		opts    localpg.Options
		wantIs  error
		wantMsg string
	}
	cases := map[string]startCase{
		"BinariesMissing": {
			reason:  "Without server binaries, the error says how to install them.",
			opts:    localpg.Options{BinDir: t.TempDir()},
			wantIs:  localpg.ErrBinariesMissing,
			wantMsg: "apt-get install -y postgresql",
		},
		"PortInUse": {
			reason:  "A server that cannot start says why, quoting its log.",
			opts:    localpg.Options{Port: busy.Addr().(*net.TCPAddr).Port},
			wantMsg: "already in use",
		},
		"DirNotACluster": {
			reason:  "A non-empty directory without a cluster is never initialised over.",
			opts:    localpg.Options{Dir: notEmpty},
			wantMsg: "not empty",
		},
	}
	if os.Geteuid() == 0 {
		cases["DirUnreachable"] = startCase{
			reason:  "As root, a data directory the postgres user cannot reach is named in the error.",
			opts:    localpg.Options{Dir: filepath.Join(t.TempDir(), "data")},
			wantMsg: "chmod o+x",
		}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := localpg.Start(context.Background(), tc.opts)
			if err == nil {
				_ = s.Stop()
				t.Fatalf("%s\nStart: want error, got nil", tc.reason)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("%s\nStart: want errors.Is %v, got %v", tc.reason, tc.wantIs, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("%s\nStart: error %q should contain %q", tc.reason, err, tc.wantMsg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(notEmpty, "precious.txt")); err != nil {
		t.Errorf("the refused directory must be left alone: %v", err)
	}
}
