package faults

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// tenant is a TenantApp of the suite and a direct reader of its tables (the
// operator may reach the database another way, e.g. through a stallProxy).
type tenant struct {
	key      types.NamespacedName
	endpoint string
	db       *tenantdb.Postgres
	c        client.Client
}

// newTenant creates a connection Secret holding operatorDSN and a TenantApp
// of endpoint in ns (no scope, policy Disable); readDSN is how the test reads
// the same database.
func newTenant(t *testing.T, c client.Client, ns, name, endpoint, operatorDSN, readDSN string) *tenant {
	t.Helper()
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-db"},
		StringData: map[string]string{"dsn": operatorDSN}}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatalf("creating the connection Secret: %v", err)
	}
	app := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.TenantAppSpec{Endpoint: endpoint, Database: scimv1.TenantDatabase{
			ConnectionSecretRef: scimv1.SecretKeyReference{Name: secret.Name, Key: "dsn"}}}}
	if err := c.Create(ctx, app); err != nil {
		t.Fatalf("creating the TenantApp: %v", err)
	}
	db, err := tenantdb.New(ctx, tenantdb.Config{DSN: readDSN, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return &tenant{key: client.ObjectKeyFromObject(app), endpoint: endpoint, db: db, c: c}
}

// tables reads the three tables from one snapshot.
func (tn *tenant) tables() (tenantdb.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tn.db.Observe(ctx)
}

// userRows counts the rows of the users table, 0 before the first migration.
func (tn *tenant) userRows() int {
	st, err := tn.tables()
	if err != nil {
		return 0
	}
	return len(st.Users)
}

// diff compares the tables with what the CRs say they must hold; "" when equal.
func (tn *tenant) diff() string {
	want, err := testharness.ExpectedRows(context.Background(), tn.c, tn.key.Namespace, tn.endpoint)
	if err != nil {
		return err.Error()
	}
	got, err := tn.tables()
	if err != nil {
		return "reading the tables: " + err.Error()
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		return "the tables differ from the CRs (-want +got):\n" + d
	}
	return ""
}

// condition returns a condition of the TenantApp, nil when absent.
func (tn *tenant) condition(typ string) (*metav1.Condition, error) {
	var app scimv1.TenantApp
	if err := tn.c.Get(context.Background(), tn.key, &app); err != nil {
		return nil, err
	}
	return meta.FindStatusCondition(app.Status.Conditions, typ), nil
}

// conditionIs reports "" when the condition has status want, else what it is.
func (tn *tenant) conditionIs(typ string, want metav1.ConditionStatus) string {
	c, err := tn.condition(typ)
	switch {
	case err != nil:
		return err.Error()
	case c == nil:
		return typ + " is not set"
	case c.Status != want:
		return fmt.Sprintf("%s is %s (%s: %s), want %s", typ, c.Status, c.Reason, c.Message, want)
	}
	return ""
}

// boundSubjects returns, by role name, the sorted User subjects of the
// RoleBindings the operator owns in ns.
func boundSubjects(c client.Client, ns string) (map[string][]string, error) {
	var rbs rbacv1.RoleBindingList
	if err := c.List(context.Background(), &rbs, client.InNamespace(ns),
		client.MatchingLabels{scimv1.LabelManagedBy: scimv1.ManagedByValue}); err != nil {
		return nil, fmt.Errorf("listing RoleBindings: %w", err)
	}
	out := map[string][]string{}
	for _, rb := range rbs.Items {
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.UserKind {
				out[rb.RoleRef.Name] = append(out[rb.RoleRef.Name], s.Name)
			}
		}
	}
	for role := range out {
		slices.Sort(out[role])
	}
	return out, nil
}
