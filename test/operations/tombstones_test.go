package operations

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// TestTombstonesExpire: with --tombstone-ttl=2s, the tombstones a SCIM
// DELETE leaves are deleted by the leader's sweep once their TTL has passed,
// counted in scim_tombstones_expired_total, and the userName created again
// gets an id it never had.
func TestTombstonesExpire(t *testing.T) {
	metricsAddr := freeAddr(t)
	op := start(t, testharness.Options{MetricsAddr: metricsAddr, SCIM: scimserver.Options{TombstoneTTL: 2 * time.Second}})
	ns := testharness.UniqueName("tombstones")
	e := op.NewEndpoint(t, ns, "okta")
	create := func() string {
		r := e.Do(t, http.MethodPost, "/Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "ada@example.com", "active": true})
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /Users = %d: %s", r.Status, r.Body)
		}
		id, _ := r.JSON(t)["id"].(string)
		if r := e.Do(t, http.MethodDelete, "/Users/"+id, nil); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE = %d: %s", r.Status, r.Body)
		}
		return id
	}
	first := create()
	testharness.Eventually(t, 30*time.Second, func() string {
		var claims scimv1.ScimClaimList
		if err := op.Client.List(context.Background(), &claims, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		return testharness.Unless(len(claims.Items) == 0, "the tombstones never expired", fmt.Sprintf("%d claims left", len(claims.Items)))
	})
	if again := create(); again == first {
		t.Fatalf("the userName created again after its tombstone expired got its old id %s", first)
	}
	_, families := scrape(t, metricsAddr)
	expired := families["scim_tombstones_expired_total"]
	if expired == nil || len(expired.Metric) == 0 || expired.Metric[0].GetCounter().GetValue() < 1 {
		t.Fatalf("scim_tombstones_expired_total = %v, want at least 1", expired)
	}
}
