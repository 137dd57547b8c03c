package tenantapp_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// settle bounds every wait for the reconciler; it only keeps a broken test
// from hanging.
const settle = 30 * time.Second

// seedTenant starts a TenantApp reconciler on real PostgreSQL clients and
// seeds endpoint okta in a new namespace: alice and bob (active), carol
// (inactive), group devs holding alice and carol, group ops holding bob.
func seedTenant(t *testing.T) (client.Client, string) {
	t.Helper()
	startReconciler(t, tenantapp.PostgresClient)
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ns := testharness.SeedNamespace(t, c)
	testharness.SeedEndpoint(t, c, ns, "okta")
	named := func(given, family string) func(*scimv1.ScimUser) {
		return func(u *scimv1.ScimUser) {
			u.Spec.Name = &scimv1.Name{GivenName: given, FamilyName: family}
			u.Spec.ExternalID = "00u-" + u.Name
		}
	}
	testharness.SeedUser(t, c, ns, "okta", "alice", "alice@example.com", true, named("Alice", "A"))
	testharness.SeedUser(t, c, ns, "okta", "bob", "bob@example.com", true, named("Bob", "B"))
	testharness.SeedUser(t, c, ns, "okta", "carol", "carol@example.com", false, named("Carol", "C"))
	testharness.SeedGroup(t, c, ns, "okta", "devs", "Developers", "alice", "carol")
	testharness.SeedGroup(t, c, ns, "okta", "ops", "Operations", "bob")
	return c, ns
}

// waitTables waits until the tables hold want, versions ignored.
func waitTables(t *testing.T, tn *tenant, want tenantdb.State) {
	t.Helper()
	testharness.Eventually(t, settle, func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := tn.DB.Observe(ctx)
		if err != nil {
			return "reading tables: " + err.Error()
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(),
			cmpopts.IgnoreFields(tenantdb.User{}, "Version"), cmpopts.IgnoreFields(tenantdb.Group{}, "Version"),
			cmpopts.SortSlices(func(a, b tenantdb.User) bool { return a.ID < b.ID }),
			cmpopts.SortSlices(func(a, b tenantdb.Group) bool { return a.ID < b.ID })); diff != "" {
			return "tables (-want +got):\n" + diff
		}
		return ""
	})
}

func row(id, given, family string, active bool) tenantdb.User {
	return tenantdb.User{ID: id, ExternalID: "00u-" + id, UserName: id + "@example.com", Email: id + "@example.com",
		GivenName: given, FamilyName: family, Active: active}
}

var seededGroups = []tenantdb.Group{{ID: "devs", DisplayName: "Developers"}, {ID: "ops", DisplayName: "Operations"}}

// TestTenantAppWritesSeededRows: a TenantApp writes a row per user of its
// endpoint (an inactive one with active=false under the default Disable
// policy), a row per group and the memberships; an edited user's row
// follows.
func TestTenantAppWritesSeededRows(t *testing.T) {
	c, ns := seedTenant(t)
	tn := newTenant(t, c, ns, "app", "okta", "")
	waitTables(t, tn, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", true), row("bob", "Bob", "B", true), row("carol", "Carol", "C", false)},
		Groups:  seededGroups,
		Members: map[string][]string{"devs": {"alice", "carol"}, "ops": {"bob"}},
	})

	testharness.EditUser(t, c, client.ObjectKey{Namespace: ns, Name: "bob"}, func(u *scimv1.ScimUser) {
		u.Spec.Name.FamilyName = "Builder"
	})
	waitTables(t, tn, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", true), row("bob", "Bob", "Builder", true), row("carol", "Carol", "C", false)},
		Groups:  seededGroups,
		Members: map[string][]string{"devs": {"alice", "carol"}, "ops": {"bob"}},
	})
}

// TestDeactivationFollowsThePolicy: deactivating a user (an edit of the
// ScimUser) keeps its row inactive under Disable and removes the row and its
// memberships under Delete.
func TestDeactivationFollowsThePolicy(t *testing.T) {
	c, ns := seedTenant(t)
	disable := newTenant(t, c, ns, "disable", "okta", "")
	remove := newTenant(t, c, ns, "delete", "okta", "", func(a *scimv1.TenantApp) {
		a.Spec.DeactivationPolicy = scimv1.DeactivationDelete
	})
	waitTables(t, remove, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", true), row("bob", "Bob", "B", true)},
		Groups:  seededGroups,
		Members: map[string][]string{"devs": {"alice"}, "ops": {"bob"}},
	})

	testharness.EditUser(t, c, client.ObjectKey{Namespace: ns, Name: "alice"}, func(u *scimv1.ScimUser) { u.Spec.Active = false })
	waitTables(t, disable, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", false), row("bob", "Bob", "B", true), row("carol", "Carol", "C", false)},
		Groups:  seededGroups,
		Members: map[string][]string{"devs": {"alice", "carol"}, "ops": {"bob"}},
	})
	waitTables(t, remove, tenantdb.State{
		Users:   []tenantdb.User{row("bob", "Bob", "B", true)},
		Groups:  seededGroups,
		Members: map[string][]string{"ops": {"bob"}},
	})
}

// TestDeletedTenantAppReleasesUsers: users with a row carry the tenant
// finalizer; deleting the TenantApp removes it from them (no other TenantApp
// holds them) and leaves the tables in place.
func TestDeletedTenantAppReleasesUsers(t *testing.T) {
	ctx := context.Background()
	c, ns := seedTenant(t)
	tn := newTenant(t, c, ns, "app", "okta", "")
	waitTables(t, tn, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", true), row("bob", "Bob", "B", true), row("carol", "Carol", "C", false)},
		Groups:  seededGroups,
		Members: map[string][]string{"devs": {"alice", "carol"}, "ops": {"bob"}},
	})
	held := func() []string {
		var users scimv1.ScimUserList
		if err := c.List(ctx, &users, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range users.Items {
			if controllerutil.ContainsFinalizer(&u, tenantapp.FinalizerUsers) {
				ids = append(ids, u.Name)
			}
		}
		slices.Sort(ids)
		return ids
	}
	if got := held(); fmt.Sprint(got) != "[alice bob carol]" {
		t.Fatalf("users holding %s: %v, want every user with a row", tenantapp.FinalizerUsers, got)
	}

	tn.DeleteAndWait(t)
	if got := held(); len(got) != 0 {
		t.Errorf("users still holding %s after the TenantApp was deleted: %v", tenantapp.FinalizerUsers, got)
	}
	ctxDB, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if st, err := tn.DB.Observe(ctxDB); err != nil || len(st.Users) != 3 {
		t.Errorf("tables after the TenantApp's deletion: %d users (err %v), want the 3 rows left in place", len(st.Users), err)
	}
}

// TestGroupStampStartsNoPass: the SCIM server stamps a group's lastModified
// annotation after each member change, whose membership shard already
// starts a pass; the tables hold nothing of the stamp, so it starts no pass
// of its own (a pass reads every user of the endpoint). A displayName
// change still does.
func TestGroupStampStartsNoPass(t *testing.T) {
	c, ns := seedTenant(t)
	tn := newTenant(t, c, ns, "app", "okta", "")
	waitTables(t, tn, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", true), row("bob", "Bob", "B", true), row("carol", "Carol", "C", false)},
		Groups:  seededGroups,
		Members: map[string][]string{"devs": {"alice", "carol"}, "ops": {"bob"}},
	})
	passes := quietPasses(t)
	ctx := context.Background()
	for i := range 3 {
		g := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"}}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"2026-12-07T10:00:0%dZ"}}}`, scimv1.AnnotationLastModified, i)
		if err := c.Patch(ctx, g, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			t.Fatal(err)
		}
	}
	if after := quietPasses(t); after != passes {
		t.Errorf("three lastModified stamps started %v passes, want none", after-passes)
	}

	var g scimv1.ScimGroup
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "devs"}, &g); err != nil {
		t.Fatal(err)
	}
	g.Spec.DisplayName = "Developers and friends"
	if err := c.Update(ctx, &g); err != nil {
		t.Fatal(err)
	}
	waitTables(t, tn, tenantdb.State{
		Users:   []tenantdb.User{row("alice", "Alice", "A", true), row("bob", "Bob", "B", true), row("carol", "Carol", "C", false)},
		Groups:  []tenantdb.Group{{ID: "devs", DisplayName: "Developers and friends"}, {ID: "ops", DisplayName: "Operations"}},
		Members: map[string][]string{"devs": {"alice", "carol"}, "ops": {"bob"}},
	})
}

// quietPasses waits until the TenantApp controller has run no pass for two
// seconds and returns how many it ran (controller-runtime's reconcile
// counter; the suite's tests run one at a time).
func quietPasses(t *testing.T) float64 {
	t.Helper()
	count := func() float64 {
		families, err := ctrlmetrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, f := range families {
			if f.GetName() != "controller_runtime_reconcile_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "controller" && l.GetValue() == "tenantapp" {
						total += m.GetCounter().GetValue()
					}
				}
			}
		}
		return total
	}
	last, quiet := count(), 0
	for range 60 {
		time.Sleep(500 * time.Millisecond)
		if cur := count(); cur != last {
			last, quiet = cur, 0
			continue
		}
		if quiet++; quiet == 4 {
			return last
		}
	}
	t.Fatal("the TenantApp controller never went quiet")
	return 0
}
