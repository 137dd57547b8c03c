package tenantdb_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// latestVersion is the schema version of the embedded migrations.
const latestVersion = 2

// exec runs statements on dsn as a tenant application or a careless admin
// would, outside the client.
func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// count runs a counting query on dsn.
func count(t *testing.T, dsn, sql string, args ...any) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestFullSyncRepairsHandEdits(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, server)
	c := newPostgres(t, tenantdb.Config{DSN: dsn})
	desired := tenantdb.State{
		Users:   []tenantdb.User{user("u-1", 3), user("u-2", 1), user("u-3", 1)},
		Groups:  []tenantdb.Group{group("g-1", 1), group("g-2", 2)},
		Members: map[string][]string{"g-1": {"u-1", "u-2"}, "g-2": {"u-3"}},
	}
	if _, err := c.FullSync(ctx, desired); err != nil {
		t.Fatalf("FullSync: %v", err)
	}
	// What a tenant application or an admin might do behind the operator's back.
	exec(t, dsn, `UPDATE scim.users SET user_name = 'mallory', active = false WHERE id = 'u-1'`)
	exec(t, dsn, `UPDATE scim.groups SET external_id = 'x' WHERE id = 'g-2'`)
	exec(t, dsn, `DELETE FROM scim.users WHERE id = 'u-2'`)
	exec(t, dsn, `INSERT INTO scim.users (id, user_name, active, version) VALUES ('intruder', 'i', true, 1)`)
	exec(t, dsn, `INSERT INTO scim.group_members VALUES ('g-2', 'intruder'), ('g-2', 'u-1')`)

	got, err := c.FullSync(ctx, desired)
	if err != nil {
		t.Fatalf("FullSync: %v", err)
	}
	want := tenantdb.SyncResult{
		UsersUpserted: 2, UsersDeleted: 1, GroupsUpserted: 1,
		Members: tenantdb.MembershipResult{Added: 1, Removed: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FullSync result: -want, +got:\n%s", diff)
	}
	st, err := c.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(desired, st, ignoreEmpty); diff != "" {
		t.Errorf("state after repair: -want, +got:\n%s", diff)
	}
}

func TestConcurrentWritersNeverGoBackwards(t *testing.T) {
	ctx := context.Background()
	c := newPostgres(t, tenantdb.Config{})
	const versions = 40
	var wg sync.WaitGroup
	errs := make(chan error, versions)
	for v := int64(1); v <= versions; v++ {
		wg.Go(func() {
			u := user("u-1", v)
			u.DisplayName = fmt.Sprintf("version %d", v)
			errs <- c.ApplyUsers(ctx, []tenantdb.User{u, user("u-2", v)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("ApplyUsers: %v", err)
		}
	}
	st, err := c.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newest := user("u-1", versions)
	newest.DisplayName = fmt.Sprintf("version %d", versions)
	if diff := cmp.Diff([]tenantdb.User{newest, user("u-2", versions)}, st.Users); diff != "" {
		t.Errorf("after racing writers the newest version must win: -want, +got:\n%s", diff)
	}
}

func TestLargeGroupMembership(t *testing.T) {
	ctx := context.Background()
	c := newPostgres(t, tenantdb.Config{BatchSize: 500, Timeout: time.Minute})
	const n = 20000
	users := make([]tenantdb.User, n)
	ids := make([]string, n)
	for i := range users {
		ids[i] = fmt.Sprintf("u-%05d", i)
		users[i] = user(ids[i], 1)
	}
	if err := c.ApplyUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyGroups(ctx, []tenantdb.Group{group("big", 1), group("small", 1)}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		members map[string][]string
		want    tenantdb.MembershipResult
	}{
		{map[string][]string{"big": ids, "small": ids[:3]}, tenantdb.MembershipResult{Added: n + 3}},
		{map[string][]string{"big": ids[n/2:]}, tenantdb.MembershipResult{Removed: n / 2}},
		{map[string][]string{"big": ids[:n/2]}, tenantdb.MembershipResult{Added: n / 2, Removed: n / 2}},
	}
	for i, s := range steps {
		got, err := c.SetMembers(ctx, s.members)
		if err != nil {
			t.Fatalf("step %d: SetMembers: %v", i, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d: SetMembers: -want, +got:\n%s", i, diff)
		}
	}
}

func TestCallTimeout(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t, server)
	newPostgres(t, tenantdb.Config{DSN: dsn}) // migrated without the short timeout
	c, err := tenantdb.New(ctx, tenantdb.Config{DSN: dsn, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)}); err != nil {
		t.Fatal(err)
	}
	// Another session holds the row lock, so the write would wait forever.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT 1 FROM scim.users WHERE id = 'u-1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 2)})
	if err == nil {
		t.Fatal("ApplyUsers against a locked row: want a timeout error, got nil")
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("ApplyUsers returned after %v; the per-call timeout is 300ms", took)
	}
}

func TestPingAcrossServerRestart(t *testing.T) {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "tenantdb-restart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o711); err != nil {
		t.Fatal(err)
	}
	opts := localpg.Options{Dir: root + "/data", Database: "tenant"}
	s, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	c := newPostgres(t, tenantdb.Config{DSN: s.DSN("tenant"), Timeout: 2 * time.Second})
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping with the server up: %v", err)
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := c.Ping(ctx); err == nil {
		t.Fatal("Ping with the server stopped: want an error, got nil")
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Ping with the server stopped took %v; the per-call timeout is 2s", took)
	}
	if err := c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)}); err == nil {
		t.Fatal("ApplyUsers with the server stopped: want an error, got nil")
	}

	opts.Port = s.Port()
	restarted, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatalf("restarting the server: %v", err)
	}
	t.Cleanup(func() { _ = restarted.Stop() })
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	if err := c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)}); err != nil {
		t.Fatalf("ApplyUsers after the restart: %v", err)
	}
}
