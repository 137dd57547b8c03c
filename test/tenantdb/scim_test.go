package tenantdb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestUserLifecycleThroughSCIM drives one user through everything Okta does
// to it and checks the rows of two TenantApps of the endpoint, one per
// deactivation policy.
func TestUserLifecycleThroughSCIM(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	keep := newTenant(t, op.Client, ns, "keep", "okta", "")
	drop := newTenant(t, op.Client, ns, "drop", "okta", "", func(a *scimv1.TenantApp) {
		a.Spec.DeactivationPolicy = scimv1.DeactivationDelete
		a.Spec.Database.Schema = "app_users"
	})
	both := func(id, what string, check func(tenantdb.User, bool) bool) {
		t.Helper()
		keep.waitForRow(t, id, what, check)
		drop.waitForRow(t, id, what, check)
	}

	// Create.
	id := createUser(t, ep, "ada@example.com")
	both(id, "created", func(u tenantdb.User, ok bool) bool {
		return ok && u.UserName == "ada@example.com" && u.Email == "ada@example.com" && u.GivenName == "Test" &&
			u.FamilyName == "User" && u.DisplayName == "Test User" && u.ExternalID == "00u-ada@example.com" && u.Active
	})
	var stored scimv1.ScimUser
	if err := op.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: id}, &stored); err != nil {
		t.Fatal(err)
	}
	if !controllerutil.ContainsFinalizer(&stored, tenantapp.FinalizerUsers) {
		t.Errorf("a projected user lacks the %s finalizer: %v", tenantapp.FinalizerUsers, stored.Finalizers)
	}

	// PUT: a profile update replaces everything.
	before, _ := keep.row(id)
	putUser(t, ep, id, userBody("ada.lovelace@example.com", "Ada", "Lovelace", true))
	both(id, "updated by PUT", func(u tenantdb.User, ok bool) bool {
		return ok && u.UserName == "ada.lovelace@example.com" && u.GivenName == "Ada" && u.FamilyName == "Lovelace" &&
			u.Email == "ada.lovelace@example.com" && u.Version > before.Version
	})

	// PATCH with a path.
	patch(t, ep, "/Users/"+id, map[string]any{"op": "replace", "path": "name.givenName", "value": "Augusta"})
	both(id, "updated by PATCH", func(u tenantdb.User, ok bool) bool { return ok && u.GivenName == "Augusta" })

	// Deactivate: Disable keeps the row inactive, Delete removes it.
	setActive(t, ep, id, false)
	keep.waitForRow(t, id, "deactivated", func(u tenantdb.User, ok bool) bool { return ok && !u.Active })
	drop.waitForRow(t, id, "removed on deactivation", func(_ tenantdb.User, ok bool) bool { return !ok })

	// Reactivate.
	setActive(t, ep, id, true)
	both(id, "reactivated", func(u tenantdb.User, ok bool) bool { return ok && u.Active && u.GivenName == "Augusta" })

	// Delete: both rows go, then the user itself (no finalizer left behind).
	deleteResource(t, ep, "/Users/"+id)
	both(id, "deleted", func(_ tenantdb.User, ok bool) bool { return !ok })
	testharness.Eventually(t, 30*time.Second, func() string {
		if s := terminating(t, op.Client, ns); len(s) > 0 {
			return "users stuck in deletion: " + s[0]
		}
		return ""
	})

	// Status.
	createUser(t, ep, "grace@example.com")
	keep.waitEqual(t, "okta", 30*time.Second)
	testharness.Eventually(t, 30*time.Second, func() string {
		app := keep.app(t)
		ready := keep.condition(t, scimv1.ConditionReady)
		switch {
		case ready == nil || ready.Status != metav1.ConditionTrue || ready.Reason != tenantapp.ReasonSynced:
			return "not Ready"
		case app.Status.SyncedUsers != 1 || app.Status.SchemaVersion < 2 || app.Status.LastFullSyncTime == nil ||
			app.Status.ObservedGeneration != app.Generation:
			return fmt.Sprintf("status incomplete: %+v", app.Status)
		}
		return ""
	})
}

// TestGroupsThroughSCIM pushes a group and changes its members and name.
func TestGroupsThroughSCIM(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	tn := newTenant(t, op.Client, ns, "app", "okta", "")
	u1, u2 := createUser(t, ep, "one@example.com"), createUser(t, ep, "two@example.com")
	gid := createGroup(t, ep, "Engineering", u1)
	members := func(want ...string) {
		t.Helper()
		slices.Sort(want)
		testharness.Eventually(t, 30*time.Second, func() string {
			st, err := tn.snapshot()
			if err != nil {
				return err.Error()
			}
			if !slices.Equal(st.Members[gid], want) {
				return "members differ"
			}
			return ""
		})
	}
	members(u1)
	addMembers(t, ep, gid, u2)
	members(u1, u2)
	removeMember(t, ep, gid, u1)
	members(u2)
	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "replace", "value": map[string]any{"displayName": "Platform"}})
	tn.waitEqual(t, "okta", 30*time.Second)
	deleteResource(t, ep, "/Groups/"+gid)
	tn.waitEqual(t, "okta", 30*time.Second)
	st, _ := tn.snapshot()
	if len(st.Groups) != 0 || len(st.Members) != 0 {
		t.Errorf("a deleted group left rows: %+v", st)
	}
}

// TestGroupScopeThroughSCIM: with scope.groups only members are provisioned;
// leaving the group deactivates (Disable) or removes (Delete) the row.
func TestGroupScopeThroughSCIM(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	scoped := func(policy scimv1.DeactivationPolicy, schema string) func(*scimv1.TenantApp) {
		return func(a *scimv1.TenantApp) {
			a.Spec.Scope.Groups = []string{"app users"} // displayNames compare case-insensitively
			a.Spec.DeactivationPolicy = policy
			a.Spec.Database.Schema = schema
		}
	}
	keep := newTenant(t, op.Client, ns, "keep", "okta", "", scoped(scimv1.DeactivationDisable, "scim"))
	drop := newTenant(t, op.Client, ns, "drop", "okta", "", scoped(scimv1.DeactivationDelete, "scoped_delete"))
	u1, outsider := createUser(t, ep, "member@example.com"), createUser(t, ep, "outsider@example.com")
	gid := createGroup(t, ep, "App Users")
	for _, tn := range []*tenant{keep, drop} {
		testharness.Eventually(t, 30*time.Second, func() string {
			st, err := tn.snapshot()
			if err != nil || len(st.Groups) != 1 {
				return "group row missing"
			}
			if len(st.Users) != 0 {
				return "users outside the scope were provisioned"
			}
			return ""
		})
	}

	addMembers(t, ep, gid, u1)
	for _, tn := range []*tenant{keep, drop} {
		tn.waitForRow(t, u1, "provisioned on joining the scope group", func(u tenantdb.User, ok bool) bool { return ok && u.Active })
	}

	removeMember(t, ep, gid, u1)
	keep.waitForRow(t, u1, "deactivated on leaving the scope", func(u tenantdb.User, ok bool) bool { return ok && !u.Active })
	drop.waitForRow(t, u1, "removed on leaving the scope", func(_ tenantdb.User, ok bool) bool { return !ok })

	addMembers(t, ep, gid, u1)
	for _, tn := range []*tenant{keep, drop} {
		tn.waitForRow(t, u1, "reactivated on rejoining", func(u tenantdb.User, ok bool) bool { return ok && u.Active })
	}
	// A change of the outsider is processed, and still gives no row.
	setActive(t, ep, outsider, false)
	setActive(t, ep, u1, false)
	keep.waitForRow(t, u1, "deactivated", func(u tenantdb.User, ok bool) bool { return ok && !u.Active })
	if _, ok := keep.row(outsider); ok {
		t.Errorf("a user never in scope got a row")
	}
}

// TestNewUsersAreCreatedHeld: on an endpoint with a TenantApp the SCIM server
// creates users already carrying FinalizerUsers, so the projection never
// writes them to hold them (no field manager of this controller on the user);
// on an endpoint without one, users carry no finalizer and delete at once.
func TestNewUsersAreCreatedHeld(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	bare := op.NewEndpoint(t, ns, "bare")
	tn := newTenant(t, op.Client, ns, "app", "okta", "")
	// The SCIM server learns of the TenantApp from its cache; once the
	// TenantApp reports Ready the cache has long held it.
	testharness.Eventually(t, 30*time.Second, func() string {
		if c := tn.condition(t, scimv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			return "TenantApp not Ready"
		}
		return ""
	})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		id := createUser(t, ep, fmt.Sprintf("held%d@example.com", i))
		tn.waitForRow(t, id, "created", func(_ tenantdb.User, ok bool) bool { return ok })
		ids = append(ids, id)
	}
	for _, id := range ids {
		var u scimv1.ScimUser
		if err := op.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: id}, &u); err != nil {
			t.Fatal(err)
		}
		if !controllerutil.ContainsFinalizer(&u, tenantapp.FinalizerUsers) {
			t.Errorf("user %s was created without %s: %v", id, tenantapp.FinalizerUsers, u.Finalizers)
		}
		for _, mf := range u.ManagedFields {
			if mf.Manager == "scim-operator-tenantapp" {
				t.Errorf("the TenantApp controller wrote user %s to hold it (managed fields %s at %v)", id, mf.Manager, mf.Time)
			}
		}
	}
	id := createUser(t, bare, "free@example.com")
	var u scimv1.ScimUser
	if err := op.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: id}, &u); err != nil {
		t.Fatal(err)
	}
	if len(u.Finalizers) != 0 {
		t.Errorf("a user of an endpoint without TenantApp has finalizers %v", u.Finalizers)
	}
	// Held users still go when deleted: the row first, then the user.
	deleteResource(t, ep, "/Users/"+ids[0])
	tn.waitForRow(t, ids[0], "deleted", func(_ tenantdb.User, ok bool) bool { return !ok })
	testharness.Eventually(t, 30*time.Second, func() string {
		if s := terminating(t, op.Client, ns); len(s) > 0 {
			return "users stuck in deletion: " + s[0]
		}
		return ""
	})
}
