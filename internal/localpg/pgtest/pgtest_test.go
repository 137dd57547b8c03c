package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	s := Start(t)
	var names []string
	t.Run("Create", func(t *testing.T) {
		a, b := NewDatabase(t, s), NewDatabase(t, s)
		if a == b {
			t.Fatalf("two databases share the DSN %s", a)
		}
		for _, dsn := range []string{a, b} {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatalf("connecting to a new database: %v", err)
			}
			names = append(names, conn.Config().Database)
			_ = conn.Close(ctx)
		}
	})
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("databases %v should be dropped when their test ends; %d left", names, left)
	}
}

func TestUniqueName(t *testing.T) {
	cases := map[string]struct {
		reason   string
		testName string
		prefix   string
	}{
		"Plain":  {reason: "Letters and digits are kept, lowercased.", testName: "TestFoo1", prefix: "t_testfoo1_"},
		"Odd":    {reason: "Slashes, spaces and non-ASCII become underscores.", testName: "TestX/a b/é", prefix: "t_testx_a_b__"},
		"Capped": {reason: "Long names are cut so the whole fits in 63 bytes.", testName: strings.Repeat("a", 100), prefix: "t_" + strings.Repeat("a", 40) + "_"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := uniqueName(tc.testName)
			if !strings.HasPrefix(got, tc.prefix) || len(got) > 63 {
				t.Errorf("%s\nuniqueName(%q) = %q; want prefix %q and at most 63 bytes", tc.reason, tc.testName, got, tc.prefix)
			}
		})
	}
}
