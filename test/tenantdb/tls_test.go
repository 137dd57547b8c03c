package tenantdb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// waitReason waits until the TenantApp's condition typ has reason.
func (tn *tenant) waitReason(t *testing.T, typ, reason string) *metav1.Condition {
	t.Helper()
	var c *metav1.Condition
	testharness.Eventually(t, time.Minute, func() string {
		if c = tn.condition(t, typ); c == nil || c.Reason != reason {
			return fmt.Sprintf("%s is %+v, want reason %s", typ, c, reason)
		}
		return ""
	})
	return c
}

// TestInsecureConnectionRefused: a DSN with sslmode=require to a host that
// is not loopback is refused with reason InsecureConnection and a message
// that names the fix but not the DSN; spec.database.tls.insecureSkipVerify
// lets the operator try it (the host does not exist, so it is unreachable).
func TestInsecureConnectionRefused(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	createUser(t, ep, "a@example.com")
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-db"},
		StringData: map[string]string{"dsn": "postgres://app:s3cret@db.example.invalid:5432/app?sslmode=require&connect_timeout=1"}}
	app := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: scimv1.TenantAppSpec{Endpoint: "okta", Database: scimv1.TenantDatabase{
			ConnectionSecretRef: scimv1.SecretKeyReference{Name: "app-db", Key: "dsn"}}}}
	for _, o := range []client.Object{secret, app} {
		if err := op.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	tn := &tenant{&testharness.TenantApp{Key: client.ObjectKeyFromObject(app), Client: op.Client}}
	t.Cleanup(func() { tn.DeleteAndWait(t) })

	ready := tn.waitReason(t, scimv1.ConditionReady, tenantapp.ReasonInsecureConnection)
	if ready.Status != metav1.ConditionFalse || !strings.Contains(ready.Message, "verify-full") ||
		strings.Contains(ready.Message, "s3cret") || strings.Contains(ready.Message, "example.invalid") {
		t.Fatalf("Ready %+v: want False, naming verify-full, without the DSN", ready)
	}
	tn.waitReason(t, scimv1.ConditionDatabaseReachable, tenantapp.ReasonInsecureConnection)

	if err := op.Client.Patch(ctx, app, client.RawPatch(types.MergePatchType,
		[]byte(`{"spec":{"database":{"tls":{"insecureSkipVerify":true}}}}`))); err != nil {
		t.Fatal(err)
	}
	tn.waitReason(t, scimv1.ConditionReady, tenantapp.ReasonDatabaseUnreachable)
}

// TestVerifyFullWithCASecret: with sslmode=verify-full the server must
// present a certificate of the CA in spec.database.tls.caSecretRef: another
// CA leaves the database unreachable, the right one projects the users.
func TestVerifyFullWithCASecret(t *testing.T) {
	server, caPEM, otherPEM := pgtest.StartTLS(t)
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	createUser(t, ep, "a@example.com")
	ctx := context.Background()
	ca := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-ca"}, Data: map[string][]byte{"ca.crt": otherPEM}}
	if err := op.Client.Create(ctx, ca); err != nil {
		t.Fatal(err)
	}
	dsn := strings.Replace(pgtest.NewDatabase(t, server), "sslmode=disable", "sslmode=verify-full", 1)
	tn := newTenant(t, op.Client, ns, "app", "okta", dsn, func(a *scimv1.TenantApp) {
		a.Spec.Database.TLS.CASecretRef = &scimv1.SecretKeyReference{Name: "db-ca", Key: "ca.crt"}
	})
	db, err := tenantdb.New(ctx, tenantdb.Config{DSN: dsn, Schema: tn.Schema, TLS: tenantdb.TLS{RootCAs: caPEM}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tn.DB = db

	tn.waitReason(t, scimv1.ConditionDatabaseReachable, tenantapp.ReasonDatabaseUnreachable)
	ca.Data = map[string][]byte{"ca.crt": caPEM}
	if err := op.Client.Update(ctx, ca); err != nil {
		t.Fatal(err)
	}
	tn.waitEqual(t, "okta", time.Minute)
	tn.waitReason(t, scimv1.ConditionReady, tenantapp.ReasonSynced)
}
