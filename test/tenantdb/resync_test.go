package tenantdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestResyncRepairsDrift edits the tables by hand, the way a tenant
// application should not, and checks that the periodic full resync restores
// edited and deleted rows and removes rows of unknown users and groups.
func TestResyncRepairsDrift(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	tn := newTenant(t, op.Client, ns, "app", "okta", "", func(a *scimv1.TenantApp) {
		a.Spec.ResyncInterval = metav1.Duration{Duration: 2 * time.Second}
	})
	u1, u2, u3 := createUser(t, ep, "one@example.com"), createUser(t, ep, "two@example.com"), createUser(t, ep, "three@example.com")
	createGroup(t, ep, "Engineering", u1, u2)
	tn.waitEqual(t, "okta", 30*time.Second)
	firstSync := tn.app(t).Status.LastFullSyncTime

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, tn.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE scim.users SET display_name = 'hacked', active = false, email = NULL WHERE id = $1`, []any{u1}},
		{`DELETE FROM scim.users WHERE id = $1`, []any{u2}}, // and, by cascade, its membership
		{`DELETE FROM scim.group_members WHERE user_id = $1`, []any{u1}},
		{`UPDATE scim.groups SET display_name = 'renamed by hand'`, nil},
		{`INSERT INTO scim.users (id, user_name, active, version) VALUES ('intruder', 'intruder@example.com', true, 1)`, nil},
		{`INSERT INTO scim.groups (id, display_name, version) VALUES ('ghost', 'Ghost', 1)`, nil},
		{`INSERT INTO scim.group_members (group_id, user_id) VALUES ('ghost', $1)`, []any{u3}},
	} {
		if _, err := conn.Exec(ctx, stmt.sql, stmt.args...); err != nil {
			t.Fatalf("%s: %v", stmt.sql, err)
		}
	}

	tn.waitEqual(t, "okta", 30*time.Second)
	testharness.Eventually(t, 30*time.Second, func() string {
		if last := tn.app(t).Status.LastFullSyncTime; last == nil || !last.After(firstSync.Time) {
			return "lastFullSyncTime did not advance"
		}
		return ""
	})
}
