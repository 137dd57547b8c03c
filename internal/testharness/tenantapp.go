package testharness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// TenantApp is a TenantApp under test and, on a real database, a reader of
// its tables.
type TenantApp struct {
	Key    types.NamespacedName
	DSN    string
	Schema string
	DB     *tenantdb.Postgres
	Client client.Client
}

// NewTenantApp creates a connection Secret and a TenantApp for endpoint in
// ns, on a fresh database of pg unless dsn is given (a fake's DSN opens no
// database). When the test ends (before its reconciler stops) it deletes
// the TenantApp and waits for it.
func NewTenantApp(t testing.TB, c client.Client, pg *localpg.Server, ns, name, endpoint, dsn string,
	mutate ...func(*scimv1.TenantApp)) *TenantApp {
	t.Helper()
	ctx := context.Background()
	if dsn == "" {
		dsn = pgtest.NewDatabase(t, pg)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-db"},
		StringData: map[string]string{"dsn": dsn}}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatalf("creating Secret: %v", err)
	}
	app := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.TenantAppSpec{Endpoint: endpoint, Database: scimv1.TenantDatabase{
			ConnectionSecretRef: scimv1.SecretKeyReference{Name: secret.Name, Key: "dsn"}}}}
	for _, m := range mutate {
		m(app)
	}
	if err := c.Create(ctx, app); err != nil {
		t.Fatalf("creating TenantApp: %v", err)
	}
	tn := &TenantApp{Key: client.ObjectKeyFromObject(app), DSN: dsn, Schema: app.Spec.Database.Schema, Client: c}
	if tn.Schema == "" {
		tn.Schema = tenantdb.DefaultSchema
	}
	t.Cleanup(func() { tn.DeleteAndWait(t) })
	if !strings.HasPrefix(dsn, "postgres://") {
		return tn // a fake's DSN
	}
	db, err := tenantdb.New(ctx, tenantdb.Config{DSN: dsn, Schema: tn.Schema, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tn.DB = db
	t.Cleanup(db.Close)
	return tn
}

// DeleteAndWait deletes the TenantApp and waits until its finalizer is gone.
func (tn *TenantApp) DeleteAndWait(t testing.TB) {
	ctx := context.Background()
	app := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: tn.Key.Namespace, Name: tn.Key.Name}}
	if err := tn.Client.Delete(ctx, app); client.IgnoreNotFound(err) != nil {
		t.Errorf("deleting TenantApp: %v", err)
		return
	}
	Eventually(t, time.Minute, func() string {
		err := tn.Client.Get(ctx, tn.Key, app)
		if apierrors.IsNotFound(err) {
			return ""
		}
		return fmt.Sprintf("TenantApp %s still exists (finalizers %v, err %v)", tn.Key, app.Finalizers, err)
	})
}

// App reads the TenantApp.
func (tn *TenantApp) App(t testing.TB) *scimv1.TenantApp {
	t.Helper()
	var app scimv1.TenantApp
	if err := tn.Client.Get(context.Background(), tn.Key, &app); err != nil {
		t.Fatalf("getting TenantApp: %v", err)
	}
	return &app
}

// Condition returns a condition of the TenantApp, or nil.
func (tn *TenantApp) Condition(t testing.TB, typ string) *metav1.Condition {
	t.Helper()
	return meta.FindStatusCondition(tn.App(t).Status.Conditions, typ)
}
