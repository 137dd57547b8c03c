package tenantapp_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// tenant is a TenantApp under test on the suite's PostgreSQL server.
type tenant struct{ *testharness.TenantApp }

func newTenant(t testing.TB, c client.Client, ns, name, endpoint, dsn string, mutate ...func(*scimv1.TenantApp)) *tenant {
	t.Helper()
	return &tenant{testharness.NewTenantApp(t, c, pg, ns, name, endpoint, dsn, mutate...)}
}

func (tn *tenant) condition(t testing.TB, typ string) *metav1.Condition {
	t.Helper()
	return tn.Condition(t, typ)
}
