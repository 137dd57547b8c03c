package tenantdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

func TestFakeFailures(t *testing.T) {
	down := errors.New("connection refused")
	cases := map[string]struct {
		reason  string
		prepare func(*tenantdb.Fake)
		op      func(context.Context, tenantdb.Client) error
		wantErr error
	}{
		"NotMigrated": {
			reason:  "Writing before Migrate fails, as it would on a database without the tables.",
			prepare: func(*tenantdb.Fake) {},
			op: func(ctx context.Context, c tenantdb.Client) error {
				return c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)})
			},
			wantErr: tenantdb.ErrNotMigrated,
		},
		"Injected": {
			reason: "An injected error is returned by that operation only.",
			prepare: func(f *tenantdb.Fake) {
				_, _ = f.Migrate(context.Background())
				f.FailWith(tenantdb.OpPing, down)
			},
			op:      func(ctx context.Context, c tenantdb.Client) error { return c.Ping(ctx) },
			wantErr: down,
		},
		"InjectedOtherOp": {
			reason: "Other operations keep working.",
			prepare: func(f *tenantdb.Fake) {
				_, _ = f.Migrate(context.Background())
				f.FailWith(tenantdb.OpPing, down)
			},
			op: func(ctx context.Context, c tenantdb.Client) error {
				return c.ApplyUsers(ctx, []tenantdb.User{user("u-1", 1)})
			},
		},
		"Cleared": {
			reason: "FailWith(op, nil) makes op succeed again.",
			prepare: func(f *tenantdb.Fake) {
				f.FailWith(tenantdb.OpPing, down)
				f.FailWith(tenantdb.OpPing, nil)
			},
			op: func(ctx context.Context, c tenantdb.Client) error { return c.Ping(ctx) },
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := tenantdb.NewFake()
			tc.prepare(f)
			err := tc.op(context.Background(), f)
			if diff := cmp.Diff(tc.wantErr, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("%s\nerror: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestFakeClosed(t *testing.T) {
	f := tenantdb.NewFake()
	f.Close()
	if err := f.Ping(context.Background()); err == nil {
		t.Errorf("Ping after Close: want an error, got nil")
	}
}
