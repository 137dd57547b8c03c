package tenantdb_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

const (
	userURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// tenant is a TenantApp under test on the suite's PostgreSQL server.
type tenant struct{ *testharness.TenantApp }

func newTenant(t testing.TB, c client.Client, ns, name, endpoint, dsn string, mutate ...func(*scimv1.TenantApp)) *tenant {
	t.Helper()
	return &tenant{testharness.NewTenantApp(t, c, pg, ns, name, endpoint, dsn, mutate...)}
}

func (tn *tenant) app(t testing.TB) *scimv1.TenantApp {
	t.Helper()
	return tn.App(t)
}

func (tn *tenant) condition(t testing.TB, typ string) *metav1.Condition {
	t.Helper()
	return tn.Condition(t, typ)
}

// snapshot reads the three tables.
func (tn *tenant) snapshot() (tenantdb.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tn.DB.Observe(ctx)
}

// row returns a user's row, if any.
func (tn *tenant) row(id string) (tenantdb.User, bool) {
	st, err := tn.snapshot()
	if err != nil {
		return tenantdb.User{}, false
	}
	for _, u := range st.Users {
		if u.ID == id {
			return u, true
		}
	}
	return tenantdb.User{}, false
}

// waitForRow waits until check accepts the user's row (ok false: no row).
func (tn *tenant) waitForRow(t testing.TB, id string, what string, check func(u tenantdb.User, ok bool) bool) tenantdb.User {
	t.Helper()
	var last tenantdb.User
	testharness.Eventually(t, 30*time.Second, func() string {
		u, ok := tn.row(id)
		last = u
		if check(u, ok) {
			return ""
		}
		return fmt.Sprintf("row of user %s: %s; have %+v (present %v)", id, what, u, ok)
	})
	return last
}

// waitEqual waits until the tables hold exactly what the CRs of endpoint say
// (TenantApp without scope, Disable policy), as computed by expected.
func (tn *tenant) waitEqual(t testing.TB, endpoint string, timeout time.Duration) {
	t.Helper()
	testharness.Eventually(t, timeout, func() string {
		want := expected(t, tn.Client, tn.Key.Namespace, endpoint)
		got, err := tn.snapshot()
		if err != nil {
			return "reading tables: " + err.Error()
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			return "tables differ from the CRs (-want +got):\n" + diff
		}
		return ""
	})
}

// SCIM requests, shaped the way Okta sends them.

func userBody(userName, given, family string, active bool) map[string]any {
	return map[string]any{
		"schemas": []string{userURN}, "userName": userName, "active": active,
		"externalId": "00u-" + userName, "displayName": given + " " + family,
		"name":   map[string]any{"givenName": given, "familyName": family},
		"emails": []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
	}
}

func createUser(t testing.TB, ep *testharness.Endpoint, userName string) string {
	t.Helper()
	resp := ep.Do(t, "POST", "/Users", userBody(userName, "Test", "User", true))
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /Users %s: %d %s", userName, resp.Status, resp.Body)
	}
	return resp.JSON(t)["id"].(string)
}

func putUser(t testing.TB, ep *testharness.Endpoint, id string, body map[string]any) {
	t.Helper()
	body["id"] = id
	if resp := ep.Do(t, "PUT", "/Users/"+id, body); resp.Status != http.StatusOK {
		t.Fatalf("PUT /Users/%s: %d %s", id, resp.Status, resp.Body)
	}
}

func patch(t testing.TB, ep *testharness.Endpoint, path string, ops ...map[string]any) {
	t.Helper()
	resp := ep.Do(t, "PATCH", path, map[string]any{"schemas": []string{patchURN}, "Operations": ops})
	if resp.Status != http.StatusOK && resp.Status != http.StatusNoContent {
		t.Fatalf("PATCH %s: %d %s", path, resp.Status, resp.Body)
	}
}

func setActive(t testing.TB, ep *testharness.Endpoint, id string, active bool) {
	t.Helper()
	patch(t, ep, "/Users/"+id, map[string]any{"op": "replace", "value": map[string]any{"active": active}})
}

func deleteResource(t testing.TB, ep *testharness.Endpoint, path string) {
	t.Helper()
	if resp := ep.Do(t, "DELETE", path, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d %s", path, resp.Status, resp.Body)
	}
}

func createGroup(t testing.TB, ep *testharness.Endpoint, name string, members ...string) string {
	t.Helper()
	ms := []any{}
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	resp := ep.Do(t, "POST", "/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": name, "members": ms})
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /Groups %s: %d %s", name, resp.Status, resp.Body)
	}
	return resp.JSON(t)["id"].(string)
}

func addMembers(t testing.TB, ep *testharness.Endpoint, gid string, ids ...string) {
	t.Helper()
	var vs []any
	for _, id := range ids {
		vs = append(vs, map[string]any{"value": id})
	}
	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "add", "path": "members", "value": vs})
}

func removeMember(t testing.TB, ep *testharness.Endpoint, gid, id string) {
	t.Helper()
	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", id)})
}

// expected is testharness.ExpectedRows, failing the test when it cannot read.
func expected(t testing.TB, c client.Client, ns, endpoint string) tenantdb.State {
	t.Helper()
	st, err := testharness.ExpectedRows(context.Background(), c, ns, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// terminating lists the users of ns that are being deleted.
func terminating(t testing.TB, c client.Client, ns string) []string {
	t.Helper()
	out, err := testharness.TerminatingUsers(context.Background(), c, ns)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
