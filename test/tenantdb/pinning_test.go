package tenantdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestScopeSurvivesGroupRename: the scope group is pinned by id, so an IdP
// group owner renaming it moves nobody out of the app (docs/security.md).
func TestScopeSurvivesGroupRename(t *testing.T) {
	t.Parallel()
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	tn := newTenant(t, op.Client, ns, "app", "okta", "", func(a *scimv1.TenantApp) {
		a.Spec.Scope.Groups = []string{"App Users"}
		a.Spec.DeactivationPolicy = scimv1.DeactivationDelete
	})
	ids := createUsers(t, ep, "rename", 3)
	gid := createGroup(t, ep, "App Users", ids...)
	waitActive(t, tn, ids)
	testharness.Eventually(t, 30*time.Second, func() string {
		pins := tn.app(t).Status.ScopeGroups
		if len(pins) == 1 && pins[0] == (scimv1.PinnedGroup{DisplayName: "App Users", ID: gid}) {
			return ""
		}
		return fmt.Sprintf("status.scopeGroups = %+v, want App Users pinned to %s", pins, gid)
	})

	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "replace", "path": "displayName", "value": "Renamed by the IdP"})
	// Barrier: the group row carries the new name once a pass saw the rename.
	testharness.Eventually(t, 30*time.Second, func() string {
		st, err := tn.snapshot()
		if err != nil {
			return err.Error()
		}
		for _, g := range st.Groups {
			if g.ID == gid && g.DisplayName == "Renamed by the IdP" {
				return ""
			}
		}
		return fmt.Sprintf("group rows %+v do not show the rename yet", st.Groups)
	})
	for _, id := range ids {
		if u, ok := tn.row(id); !ok || !u.Active {
			t.Errorf("user %s: row %+v (present %v) after the scope group was renamed, want active", id, u, ok)
		}
	}
	if c := tn.condition(t, scimv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v after the scope group was renamed, want True", c)
	}
}

// TestTypoInSpecRemovesNothing: a spec.endpoint that names no endpoint, or a
// scope name that matches no group, says nothing about who should lose
// access: Ready=False with a reason, and every row stays as it was.
func TestTypoInSpecRemovesNothing(t *testing.T) {
	t.Parallel()
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	whole := newTenant(t, op.Client, ns, "whole", "okta", "")
	scoped := newTenant(t, op.Client, ns, "scoped", "okta", "", func(a *scimv1.TenantApp) {
		a.Spec.Scope.Groups = []string{"App Users"}
		a.Spec.Database.Schema = "scoped"
	})
	ids := createUsers(t, ep, "typo", 3)
	createGroup(t, ep, "App Users", ids...)
	waitActive(t, whole, ids)
	waitActive(t, scoped, ids)

	cases := []struct {
		tn     *tenant
		patch  string
		reason string
	}{
		{whole, `{"spec":{"endpoint":"otka"}}`, tenantapp.ReasonEndpointNotFound},
		{scoped, `{"spec":{"scope":{"groups":["App Userz"]}}}`, tenantapp.ReasonScopeGroupNotFound},
	}
	for _, tc := range cases {
		before, err := tc.tn.snapshot()
		if err != nil {
			t.Fatal(err)
		}
		app := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.tn.Key.Name}}
		if err := op.Client.Patch(context.Background(), app, client.RawPatch("application/merge-patch+json", []byte(tc.patch))); err != nil {
			t.Fatal(err)
		}
		waitReady(t, tc.tn, app.Generation, metav1.ConditionFalse, tc.reason)
		// The pass that set the reason wrote nothing; so does the next one.
		time.Sleep(time.Second)
		after, err := tc.tn.snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Users) != len(before.Users) {
			t.Errorf("%s: %d user rows after %s, want %d", tc.reason, len(after.Users), tc.patch, len(before.Users))
		}
		for _, u := range after.Users {
			if !u.Active {
				t.Errorf("%s: row %+v deactivated after %s", tc.reason, u, tc.patch)
			}
		}
	}
}

// createUsers creates n users named prefix-NN@example.com.
func createUsers(t *testing.T, ep *testharness.Endpoint, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = createUser(t, ep, fmt.Sprintf("%s-%02d@example.com", prefix, i))
	}
	return ids
}

// waitActive waits until every id has an active row.
func waitActive(t *testing.T, tn *tenant, ids []string) {
	t.Helper()
	for _, id := range ids {
		tn.waitForRow(t, id, "active", func(u tenantdb.User, ok bool) bool { return ok && u.Active })
	}
}

// waitReady waits for the TenantApp's Ready condition of generation gen.
func waitReady(t *testing.T, tn *tenant, gen int64, status metav1.ConditionStatus, reason string) {
	t.Helper()
	testharness.Eventually(t, 30*time.Second, func() string {
		c := tn.condition(t, scimv1.ConditionReady)
		if c != nil && c.ObservedGeneration == gen && c.Status == status && c.Reason == reason {
			return ""
		}
		return fmt.Sprintf("Ready = %+v, want %s (%s) at generation %d", c, status, reason, gen)
	})
}
