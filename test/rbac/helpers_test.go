package rbac_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

const patchURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// waitLimit bounds each wait for the reconciler in this package's tests.
const waitLimit = 30 * time.Second

// createUser provisions a user through SCIM the way Okta does and returns its id.
func createUser(t *testing.T, ep *testharness.Endpoint, userName string) string {
	t.Helper()
	resp := ep.Do(t, "POST", "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true,
		"name":   map[string]any{"givenName": "Test", "familyName": "User"},
		"emails": []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /Users %s: %d %s", userName, resp.Status, resp.Body)
	}
	return resp.JSON(t)["id"].(string)
}

// createGroup pushes a group through SCIM with the given members.
func createGroup(t *testing.T, ep *testharness.Endpoint, name string, members ...string) string {
	t.Helper()
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	resp := ep.Do(t, "POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": ms})
	if resp.Status != http.StatusCreated {
		t.Fatalf("POST /Groups %s: %d %s", name, resp.Status, resp.Body)
	}
	return resp.JSON(t)["id"].(string)
}

func patch(t *testing.T, ep *testharness.Endpoint, path string, ops ...map[string]any) {
	t.Helper()
	resp := ep.Do(t, "PATCH", path, map[string]any{"schemas": []string{patchURN}, "Operations": ops})
	if resp.Status != http.StatusOK && resp.Status != http.StatusNoContent {
		t.Fatalf("PATCH %s: %d %s", path, resp.Status, resp.Body)
	}
}

func bind(t testing.TB, ns, name, endpoint, group string, role scimv1.RoleRef) *scimv1.ScimRoleBinding {
	t.Helper()
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: endpoint, Group: scimv1.GroupReference{DisplayName: group}, RoleRef: role,
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName}}}
	if err := op.Client.Create(context.Background(), b); err != nil {
		t.Fatalf("creating ScimRoleBinding: %v", err)
	}
	return b
}

var view = scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}

// subjects returns the sorted subject names of every RoleBinding the binding
// owns in ns, read live from the API server.
func subjects(t *testing.T, uid string, ns string) []string {
	t.Helper()
	return subjectsWith(t, op.Client, uid, ns)
}

// subjectsWith is subjects through another control plane's client.
func subjectsWith(t *testing.T, c client.Client, uid string, ns string) []string {
	t.Helper()
	return testharness.BoundSubjects(t, c, uid, ns)
}

func wantSubjects(t *testing.T, uid, ns string, want ...string) {
	t.Helper()
	testharness.WantBoundSubjects(t, op.Client, waitLimit, uid, ns, want...)
}

// groupID finds a group's id by displayName through SCIM.
func groupID(t *testing.T, ep *testharness.Endpoint, name string) string {
	t.Helper()
	resp := ep.Do(t, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "`+name+`"`), nil)
	res, _ := resp.JSON(t)["Resources"].([]any)
	if resp.Status != http.StatusOK || len(res) != 1 {
		t.Fatalf("finding group %q: %d %s", name, resp.Status, resp.Body)
	}
	return res[0].(map[string]any)["id"].(string)
}

// sendPatch PATCHes a user from any goroutine and returns the status.
func sendPatch(ep *testharness.Endpoint, id, body string) (int, error) {
	req, err := http.NewRequest("PATCH", ep.BaseURL+"/Users/"+id, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+ep.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := ep.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
