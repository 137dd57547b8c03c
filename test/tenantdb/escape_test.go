package tenantdb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestDeletionHeldUntilEveryAppUnwound: a deleted user stays in Terminating
// while one TenantApp of its endpoint cannot reach its database; the escape
// hatch annotation (on the user, or on the TenantApp) releases it, and
// deleting the TenantApps releases every user.
func TestDeletionHeldUntilEveryAppUnwound(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")
	good := newTenant(t, op.Client, ns, "good", "okta", "")
	dead := newTenant(t, op.Client, ns, "dead", "okta", "")
	u1, u2, u3 := createUser(t, ep, "one@example.com"), createUser(t, ep, "two@example.com"), createUser(t, ep, "three@example.com")
	for _, tn := range []*tenant{good, dead} {
		tn.waitEqual(t, "okta", 30*time.Second)
	}

	// The dead app's database goes away for good: its Secret now names a
	// port nothing listens on.
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dead-db"}}
	if err := op.Client.Patch(ctx, secret, client.RawPatch(types.MergePatchType,
		[]byte(`{"stringData":{"dsn":"postgres://scim@127.0.0.1:1/gone?sslmode=disable&connect_timeout=2"}}`))); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, time.Minute, func() string {
		if c := dead.condition(t, scimv1.ConditionDatabaseReachable); c == nil || c.Status != metav1.ConditionFalse {
			return "the dead app's DatabaseReachable did not turn False"
		}
		return ""
	})

	held := func(id string) {
		t.Helper()
		deleteResource(t, ep, "/Users/"+id)
		good.waitForRow(t, id, "deleted by the reachable app", func(_ tenantdb.User, ok bool) bool { return !ok })
		if got := terminating(t, op.Client, ns); !slices.Contains(got, id) {
			t.Fatalf("user %s was released although the dead app has not unwound it (terminating: %v)", id, got)
		}
	}
	gone := func(id, why string) {
		t.Helper()
		testharness.Eventually(t, 30*time.Second, func() string {
			var u scimv1.ScimUser
			if err := op.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: id}, &u); apierrors.IsNotFound(err) {
				return ""
			}
			return fmt.Sprintf("user %s still exists after %s", id, why)
		})
	}
	annotate := func(obj client.Object) {
		t.Helper()
		if err := op.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(
			`{"metadata":{"annotations":{%q:"true"}}}`, tenantapp.AnnotationSkipCleanup)))); err != nil {
			t.Fatal(err)
		}
	}

	held(u1)
	annotate(&scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: u1}})
	gone(u1, "the escape hatch on the user")

	held(u2)
	annotate(&scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: dead.Key.Name}})
	gone(u2, "the escape hatch on the TenantApp")

	// Without TenantApps nothing holds users any more.
	dead.DeleteAndWait(t)
	good.DeleteAndWait(t)
	testharness.Eventually(t, 30*time.Second, func() string {
		var u scimv1.ScimUser
		if err := op.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: u3}, &u); err != nil {
			return err.Error()
		}
		if controllerutil.ContainsFinalizer(&u, tenantapp.FinalizerUsers) {
			return "a user keeps the finalizer after its endpoint's TenantApps were deleted"
		}
		return ""
	})
}
