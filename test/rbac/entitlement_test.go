package rbac_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// okta user body with roles, as Okta Identity Governance PUTs it.
func userWithRoles(userName string, active bool, roles ...string) map[string]any {
	rs := []any{}
	for _, r := range roles {
		rs = append(rs, map[string]any{"value": r, "display": r})
	}
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": active,
		"name":   map[string]any{"givenName": "Test", "familyName": "User"},
		"emails": []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"roles":  rs, "groups": []any{},
	}
}

func entitlement(t *testing.T, ns, name, endpoint string, grants ...scimv1.EntitlementGrant) *scimv1.ScimEntitlement {
	t.Helper()
	e := &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimEntitlementSpec{Endpoint: endpoint, DisplayName: name, Grants: grants,
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName}}}
	if err := op.Client.Create(context.Background(), e); err != nil {
		t.Fatalf("creating ScimEntitlement: %v", err)
	}
	if err := op.Client.Get(context.Background(), client.ObjectKeyFromObject(e), e); err != nil {
		t.Fatal(err)
	}
	return e
}

// clusterSubjects returns the sorted subject names of the ClusterRoleBindings uid owns.
func clusterSubjects(t *testing.T, uid string) []string {
	t.Helper()
	var list rbacv1.ClusterRoleBindingList
	if err := op.Client.List(context.Background(), &list, client.MatchingLabels{rolebinding.LabelBindingUID: uid}); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, crb := range list.Items {
		if crb.RoleRef.Name != "view" {
			t.Errorf("ClusterRoleBinding %s grants %s, want view", crb.Name, crb.RoleRef.Name)
		}
		for _, s := range crb.Subjects {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names
}

func wantGranted(t *testing.T, uid, ns string, want ...string) {
	t.Helper()
	wantSubjects(t, uid, ns, want...)
	sort.Strings(want)
	if want == nil {
		want = []string{}
	}
	testharness.Eventually(t, waitLimit, func() string {
		got := clusterSubjects(t, uid)
		return testharness.Unless(fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("cluster-wide subjects become %v", want), fmt.Sprint(got))
	})
}

func put(t *testing.T, ep *testharness.Endpoint, id string, body map[string]any) {
	t.Helper()
	if resp := ep.Do(t, "PUT", "/Users/"+id, body); resp.Status != http.StatusOK {
		t.Fatalf("PUT /Users/%s: %d %s", id, resp.Status, resp.Body)
	}
}

// TestEntitlementFollowsTheIdP: an entitlement's roles reach exactly the
// active users the IdP granted it, through Okta's full-user PUTs and RFC
// PATCHes, deactivation, and the entitlement's deletion.
func TestEntitlementFollowsTheIdP(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "entitlements", "okta")
	e := entitlement(t, ep.Namespace, "deployer", "okta",
		scimv1.EntitlementGrant{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
			BindingTarget: scimv1.BindingTarget{Namespaces: []string{ep.Namespace}}},
		scimv1.EntitlementGrant{RoleRef: view, BindingTarget: scimv1.BindingTarget{ClusterWide: true}})
	uid := string(e.UID)
	post := func(body map[string]any) string {
		resp := ep.Do(t, "POST", "/Users", body)
		if resp.Status != http.StatusCreated {
			t.Fatalf("POST /Users: %d %s", resp.Status, resp.Body)
		}
		return resp.JSON(t)["id"].(string)
	}
	alice := post(userWithRoles("alice@example.com", true, "deployer"))
	bob := post(userWithRoles("bob@example.com", true))
	post(userWithRoles("system:admin", true, "deployer"))
	wantGranted(t, uid, ep.Namespace, "alice@example.com")
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimEntitlement
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(e), &cur)
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Status == metav1.ConditionTrue && cur.Status.Members == 1 && cur.Status.SkippedSubjects == 1 &&
			fmt.Sprint(cur.Status.Namespaces) == fmt.Sprint([]string{ep.Namespace}), "status counts the granted user and the skipped one", fmt.Sprintf("%+v", cur.Status))
	})

	// An access request approved for bob: Okta PUTs the whole user with the role.
	put(t, ep, bob, userWithRoles("bob@example.com", true, "deployer"))
	wantGranted(t, uid, ep.Namespace, "alice@example.com", "bob@example.com")

	// A revocation: the PUT lacks the value.
	put(t, ep, alice, userWithRoles("alice@example.com", true))
	wantGranted(t, uid, ep.Namespace, "bob@example.com")

	// RFC PATCH add, then deactivation and reactivation.
	patch(t, ep, "/Users/"+alice, map[string]any{"op": "add", "path": "roles", "value": []any{map[string]any{"value": "deployer"}}})
	wantGranted(t, uid, ep.Namespace, "alice@example.com", "bob@example.com")
	patch(t, ep, "/Users/"+bob, map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	wantGranted(t, uid, ep.Namespace, "alice@example.com")
	// Reactivation alone restores nothing the IdP has not sent again: the
	// IdP pushes no changes to a deactivated user, so the stored roles may
	// be stale. carol's grant, after it, shows the pass has seen it.
	patch(t, ep, "/Users/"+bob, map[string]any{"op": "replace", "value": map[string]any{"active": true}})
	carol := post(userWithRoles("carol@example.com", true, "deployer"))
	wantGranted(t, uid, ep.Namespace, "alice@example.com", "carol@example.com")
	// Okta's PUT after the reactivation re-sends the same roles: now they count.
	put(t, ep, bob, userWithRoles("bob@example.com", true, "deployer"))
	wantGranted(t, uid, ep.Namespace, "alice@example.com", "bob@example.com", "carol@example.com")
	if resp := ep.Do(t, "DELETE", "/Users/"+carol, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE carol: %d %s", resp.Status, resp.Body)
	}

	// RFC PATCH remove by value filter; then the user's deletion.
	patch(t, ep, "/Users/"+bob, map[string]any{"op": "remove", "path": `roles[value eq "deployer"]`})
	wantGranted(t, uid, ep.Namespace, "alice@example.com")
	if resp := ep.Do(t, "DELETE", "/Users/"+alice, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE alice: %d %s", resp.Status, resp.Body)
	}
	wantGranted(t, uid, ep.Namespace)

	// Deleting the catalog entry removes every grant and its finalizer.
	put(t, ep, bob, userWithRoles("bob@example.com", true, "deployer"))
	wantGranted(t, uid, ep.Namespace, "bob@example.com")
	if err := op.Client.Delete(ctx, e); err != nil {
		t.Fatal(err)
	}
	wantGranted(t, uid, ep.Namespace)
	testharness.Eventually(t, waitLimit, func() string {
		err := op.Client.Get(ctx, client.ObjectKeyFromObject(e), &scimv1.ScimEntitlement{})
		return testharness.Unless(apierrors.IsNotFound(err), "entitlement deleted (finalizer released)", "still present")
	})
}

// TestEntitlementGrantsOnlyAllowedRoles: an entitlement naming a role off
// the allow-list grants nothing at all, not even its allowed roles.
func TestEntitlementGrantsOnlyAllowedRoles(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "entitlements-allow", "okta")
	e := entitlement(t, ep.Namespace, "too-much", "okta",
		scimv1.EntitlementGrant{RoleRef: view, BindingTarget: scimv1.BindingTarget{Namespaces: []string{ep.Namespace}}},
		scimv1.EntitlementGrant{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, BindingTarget: scimv1.BindingTarget{ClusterWide: true}})
	resp := ep.Do(t, "POST", "/Users", userWithRoles("alice@example.com", true, "too-much"))
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %s", resp.Status, resp.Body)
	}
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimEntitlement
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(e), &cur)
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Status == metav1.ConditionFalse && c.Reason == rolebinding.ReasonRoleNotAllowed, "Ready False RoleNotAllowed", fmt.Sprint(c))
	})
	if got := subjects(t, string(e.UID), ""); len(got) != 0 {
		t.Errorf("RoleBindings granted %v", got)
	}
	if got := clusterSubjects(t, string(e.UID)); len(got) != 0 {
		t.Errorf("ClusterRoleBindings granted %v", got)
	}
}

// TestEntitlementEntraShapes: Entra's AssertiveAppRoleAssignmentsComplex
// replaces the whole set, with role values as JSON strings when the tenant
// has no aadOptscim062020 flag; the RoleBindings follow each set.
func TestEntitlementEntraShapes(t *testing.T) {
	ep := op.NewEndpoint(t, "entitlements-entra", "entra")
	e := entitlement(t, ep.Namespace, "payments-reader", "entra",
		scimv1.EntitlementGrant{RoleRef: view, BindingTarget: scimv1.BindingTarget{Namespaces: []string{ep.Namespace}}})
	other := entitlement(t, ep.Namespace, "other-reader", "entra",
		scimv1.EntitlementGrant{RoleRef: view, BindingTarget: scimv1.BindingTarget{Namespaces: []string{ep.Namespace}}})
	resp := ep.Do(t, "POST", "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "ada@example.com", "active": true, "roles": []any{}, "externalId": "ada",
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %s", resp.Status, resp.Body)
	}
	ada := resp.JSON(t)["id"].(string)
	role := func(value string) map[string]any {
		return map[string]any{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": value,
			"value": fmt.Sprintf(`{"id":"3a5c2d3e-0000-4000-8000-000000000001","value":%q,"displayName":%q}`, value, value)}
	}
	replace := func(roles ...any) {
		patch(t, ep, "/Users/"+ada, map[string]any{"op": "Replace", "path": "roles", "value": roles})
	}
	replace(role("payments-reader"))
	wantSubjects(t, string(e.UID), ep.Namespace, "ada@example.com")
	replace(role("payments-reader"), role("other-reader"))
	wantSubjects(t, string(other.UID), ep.Namespace, "ada@example.com")
	replace(role("other-reader"))
	wantSubjects(t, string(e.UID), ep.Namespace)
	wantSubjects(t, string(other.UID), ep.Namespace, "ada@example.com")
	replace()
	wantSubjects(t, string(other.UID), ep.Namespace)
}
