package tenantdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestTenantAppOfAnotherNamespace: one IdP app in namespace identity, its
// users projected into the database of a TenantApp in a tenant namespace the
// endpoint allows (its DSN Secret in the tenant's namespace), and nothing
// into that of a TenantApp in a namespace it does not allow. A user deleted
// in the IdP is released by both (the refused TenantApp holds nobody), and
// once the tenant namespace loses its label the tables get nothing more.
func TestTenantAppOfAnotherNamespace(t *testing.T) {
	ctx := context.Background()
	op := testharness.RunOperator(t, cp, testharness.Options{})
	team := testharness.UniqueName("payments")
	identity := testharness.Namespace(t)
	ep := op.NewEndpoint(t, identity, "okta", func(e *scimv1.ScimEndpoint) {
		e.Spec.AllowedNamespaces = scimv1.AllowedNamespaces{From: scimv1.NamespacesFromSelector,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": team}}}
	})
	alice := createUser(t, ep, "alice@example.com")
	bob := createUser(t, ep, "bob@example.com")
	createGroup(t, ep, "payments-devs", alice, bob)

	payments, other := testharness.Namespace(t), testharness.Namespace(t)
	for ns, labels := range map[string]map[string]string{payments: {"team": team}, other: nil} {
		if err := op.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	across := func(a *scimv1.TenantApp) { a.Spec.EndpointNamespace = identity }
	allowed := newTenant(t, op.Client, payments, "app", "okta", "", across)
	refused := newTenant(t, op.Client, other, "app", "okta", "", across)

	waitEqualTo(t, allowed, identity, "okta")
	waitReady(t, allowed, 1, metav1.ConditionTrue, tenantapp.ReasonSynced)
	waitReady(t, refused, 1, metav1.ConditionFalse, tenantapp.ReasonEndpointNotAllowed)
	if c := refused.condition(t, scimv1.ConditionDatabaseReachable); c == nil || c.Status != metav1.ConditionUnknown {
		t.Errorf("a refused TenantApp's DatabaseReachable: %+v, want Unknown (never connected)", c)
	}
	wantNoRows(t, refused)

	// A user the IdP deletes leaves the allowed tables and is released:
	// the refused TenantApp, which never synced, does not hold it.
	deleteResource(t, ep, "/Users/"+bob)
	allowed.waitForRow(t, bob, "deleted", func(_ tenantdb.User, ok bool) bool { return !ok })
	noneTerminating(t, op.Client, identity)

	// The tenant namespace loses its label: nothing more is written there.
	var n corev1.Namespace
	if err := op.Client.Get(ctx, client.ObjectKey{Name: payments}, &n); err != nil {
		t.Fatal(err)
	}
	delete(n.Labels, "team")
	if err := op.Client.Update(ctx, &n); err != nil {
		t.Fatal(err)
	}
	waitReady(t, allowed, 1, metav1.ConditionFalse, tenantapp.ReasonEndpointNotAllowed)
	carol := createUser(t, ep, "carol@example.com")
	deleteResource(t, ep, "/Users/"+alice)
	noneTerminating(t, op.Client, identity)
	if _, ok := allowed.row(carol); ok {
		t.Errorf("a TenantApp no longer allowed received a new user")
	}
	wantNoRows(t, refused)
}

// waitEqualTo waits until tn's tables hold exactly the users and groups of
// the endpoint ns/endpoint.
func waitEqualTo(t *testing.T, tn *tenant, ns, endpoint string) {
	t.Helper()
	testharness.Eventually(t, 30*time.Second, func() string {
		want := expected(t, tn.Client, ns, endpoint)
		got, err := tn.snapshot()
		if err != nil {
			return "reading tables: " + err.Error()
		}
		if len(want.Users) == 0 {
			return "the endpoint has no users yet"
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			return "tables differ from the CRs (-want +got):\n" + diff
		}
		return ""
	})
}

// wantNoRows fails unless tn's database holds no user row: its tables were
// never created, or are empty.
func wantNoRows(t *testing.T, tn *tenant) {
	t.Helper()
	if st, err := tn.snapshot(); err == nil && len(st.Users) > 0 {
		t.Errorf("a TenantApp its endpoint does not allow wrote %d user row(s)", len(st.Users))
	}
}

func noneTerminating(t *testing.T, c client.Client, ns string) {
	t.Helper()
	testharness.Eventually(t, 30*time.Second, func() string {
		if s := terminating(t, c, ns); len(s) > 0 {
			return "users stuck in deletion: " + s[0]
		}
		return ""
	})
}
