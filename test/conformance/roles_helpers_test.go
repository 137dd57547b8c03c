package conformance

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// roleURN is the schema of Okta's Role resource type (Okta's "Build a SCIM
// 2.0 server with entitlements" guide).
const roleURN = "urn:okta:scim:schemas:core:1.0:Role"

// seedRoles creates a ScimEntitlement of ep's catalog for each name (the
// SCIM role id), granting view in ep's namespace, and waits until /Roles
// lists them all: the SCIM server reads the catalog from its cache.
func seedRoles(t testing.TB, ep *testharness.Endpoint, names ...string) {
	t.Helper()
	for _, name := range names {
		e := &scimv1.ScimEntitlement{
			ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name},
			Spec: scimv1.ScimEntitlementSpec{Endpoint: ep.Name, DisplayName: "Role " + name,
				Description: "What " + name + " gives.",
				Grants: []scimv1.EntitlementGrant{{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
					BindingTarget: scimv1.BindingTarget{Namespaces: []string{ep.Namespace}}}}},
		}
		if err := op.Client.Create(context.Background(), e); err != nil {
			t.Fatalf("creating ScimEntitlement %s: %v", name, err)
		}
	}
	waitForCatalog(t, ep, func(listed []string) bool {
		for _, name := range names {
			if !slices.Contains(listed, name) {
				return false
			}
		}
		return true
	})
}

// deleteRole deletes the ScimEntitlement name of ep's namespace and waits
// until /Roles no longer lists it.
func deleteRole(t testing.TB, ep *testharness.Endpoint, name string) {
	t.Helper()
	e := &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name}}
	if err := op.Client.Delete(context.Background(), e); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("deleting ScimEntitlement %s: %v", name, err)
	}
	waitForCatalog(t, ep, func(listed []string) bool { return !slices.Contains(listed, name) })
}

// waitForCatalog polls /Roles until done holds for the listed ids.
func waitForCatalog(t testing.TB, ep *testharness.Endpoint, done func(listed []string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		listed := ids(search(t, ep, "/Roles").Resources)
		if done(listed) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/Roles still lists %v", listed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// grantRole grants the catalog entries values to a user the way Okta
// Identity Governance does: GET the user, then PUT the whole user with the
// complete roles array (its current values and the new ones) and
// "groups": []. It returns the PUT's answer, checked 200.
func grantRole(t testing.TB, ep *testharness.Endpoint, userID string, values ...string) map[string]any {
	t.Helper()
	return putRoles(t, ep, userID, func(cur []string) []string { return append(cur, values...) })
}

// revokeRole revokes the values the way Okta does: a PUT of the whole user
// whose roles array lacks them.
func revokeRole(t testing.TB, ep *testharness.Endpoint, userID string, values ...string) map[string]any {
	t.Helper()
	return putRoles(t, ep, userID, func(cur []string) []string {
		return slices.DeleteFunc(cur, func(v string) bool { return slices.Contains(values, v) })
	})
}

// putRoles PUTs the user as read by GET with its roles set to next(current
// values), each as {value, display} as Okta sends them.
func putRoles(t testing.TB, ep *testharness.Endpoint, userID string, next func(cur []string) []string) map[string]any {
	t.Helper()
	cur := get(t, ep, "/Users/"+userID)
	return ok(t, ep.Do(t, "PUT", "/Users/"+userID, oktaPutBody(t, cur, next(values(cur["roles"])))), 200)
}

// oktaPutBody is the PUT Okta sends after a GET: the user as read, its
// roles replaced by roles and its groups by [] (Okta always sends an empty
// array; the server must not read it as "leave every group").
func oktaPutBody(t testing.TB, user map[string]any, roles []string) string {
	t.Helper()
	body := map[string]any{}
	for k, v := range user {
		body[k] = v
	}
	list := []any{}
	for _, v := range roles {
		list = append(list, map[string]any{"value": v, "display": "Role " + v})
	}
	body["roles"] = list
	body["groups"] = []any{}
	delete(body, "meta")
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// storedRoles is the sorted role values of the stored ScimUser: what the
// projection into RBAC reads.
func storedRoles(t testing.TB, ep *testharness.Endpoint, userID string) []string {
	t.Helper()
	var out []string
	for _, r := range storedUser(t, ep, userID).Spec.Roles {
		out = append(out, r.Value)
	}
	slices.Sort(out)
	return out
}
