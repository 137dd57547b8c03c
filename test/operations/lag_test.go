package operations

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestProjectionLagMetric deactivates a bound user through SCIM and finds the
// removal of its RoleBinding subject in scim_projection_lag_seconds
// {projection="rbac"}, scraped from /metrics as Prometheus would.
func TestProjectionLagMetric(t *testing.T) {
	metricsAddr := freeAddr(t)
	op := start(t, testharness.Options{MetricsAddr: metricsAddr})
	ns := testharness.UniqueName("lag")
	e := op.NewEndpoint(t, ns, "okta")
	ctx := context.Background()

	user := e.Do(t, http.MethodPost, "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "lag@example.com", "active": true})
	if user.Status != http.StatusCreated {
		t.Fatalf("POST /Users = %d: %s", user.Status, user.Body)
	}
	uid, _ := user.JSON(t)["id"].(string)
	group := e.Do(t, http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "lag-viewers",
		"members": []map[string]string{{"value": uid}}})
	if group.Status != http.StatusCreated {
		t.Fatalf("POST /Groups = %d: %s", group.Status, group.Body)
	}
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "lag"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "lag-viewers"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}}
	if err := op.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	subjects := func() int {
		var list rbacv1.RoleBindingList
		if err := op.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{rolebinding.LabelBindingUID: string(b.UID)}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, rb := range list.Items {
			n += len(rb.Subjects)
		}
		return n
	}
	testharness.Eventually(t, 30*time.Second, func() string {
		n := subjects()
		return testharness.Unless(n == 1, "the user is bound", fmt.Sprintf("%d subjects", n))
	})
	before := lagSamples(t, metricsAddr)

	res := e.Do(t, http.MethodPatch, "/Users/"+uid, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "replace", "value": map[string]any{"active": false}}}})
	if res.Status != http.StatusOK {
		t.Fatalf("deactivating PATCH = %d: %s", res.Status, res.Body)
	}
	testharness.Eventually(t, 30*time.Second, func() string {
		n := subjects()
		return testharness.Unless(n == 0, "the subject is removed", fmt.Sprintf("%d subjects", n))
	})
	testharness.Eventually(t, 30*time.Second, func() string {
		n := lagSamples(t, metricsAddr)
		return testharness.Unless(n > before, "the removal is in scim_projection_lag_seconds", fmt.Sprintf("%v samples, %v before", n, before))
	})
}

// lagSamples is the sample count of scim_projection_lag_seconds{projection="rbac"}.
func lagSamples(t *testing.T, addr string) float64 {
	_, families := scrape(t, addr)
	f := families["scim_projection_lag_seconds"]
	if f == nil {
		return 0
	}
	if f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("scim_projection_lag_seconds is %v, want a histogram", f.GetType())
	}
	return sum(f, map[string]string{"projection": "rbac"}, func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) })
}
