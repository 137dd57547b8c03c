package rbac_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestRefusedNamespaceNeverPublishesWhateverItGrants: a namespace the
// endpoint does not allow must never be published at its /Roles, whatever
// role its grant names. (A grant of a role off the allow-list once made the
// pass stop at RoleNotAllowed before the namespace was checked, and
// RoleNotAllowed counted as published; found by review.)
func TestRefusedNamespaceNeverPublishesWhateverItGrants(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, testharness.Namespace(t), "okta") // allowedNamespaces: Same
	refusedNS := testharness.Namespace(t)
	if err := op.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: refusedNS}}); err != nil {
		t.Fatal(err)
	}
	e := &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: refusedNS, Name: "admins"},
		Spec: scimv1.ScimEntitlementSpec{Endpoint: ep.Name, EndpointNamespace: ep.Namespace, DisplayName: "Platform cluster admins",
			Grants: []scimv1.EntitlementGrant{{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
				BindingTarget: scimv1.BindingTarget{Namespaces: []string{refusedNS}}}}}}
	if err := op.Client.Create(ctx, e); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimEntitlement
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(e), &cur)
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.ObservedGeneration == cur.Generation, "Ready observed", fmt.Sprint(c))
	})
	var cur scimv1.ScimEntitlement
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(e), &cur)
	if c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionPublished); c == nil || c.Status != metav1.ConditionFalse {
		t.Errorf("entitlement of a refused namespace: Published %v, want False (Ready %v)", c, meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady))
	}
	id := refusedNS + ".admins"
	if r := ep.Do(t, "GET", "/Roles", nil); strings.Contains(string(r.Body), id) {
		t.Errorf("/Roles of %s lists %s of a namespace it does not allow: %s", ep.Name, id, r.Body)
	}
	if r := ep.Do(t, "POST", "/Users", userWithRoles("mallory@example.com", true, id)); r.Status != http.StatusBadRequest {
		t.Errorf("POST /Users with role %s of a refused namespace: %d, want 400", id, r.Status)
	}
}
