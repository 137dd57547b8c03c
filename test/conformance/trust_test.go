package conformance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestDeactivationFailsClosed: once a user is inactive, nothing but an
// explicit active:true re-activates them — not a PUT that omits active, not
// a PATCH that removes it, not active:null. Only a create defaults to true.
func TestDeactivationFailsClosed(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(oktaCreate(t, ep, "closed@atko.com", "Clo", "Sed", "00uc"), "id")
	equal(t, "a create without active is active", storedUser(t, ep, id).Spec.Active, true)
	deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	ok(t, ep.Do(t, "PATCH", "/Users/"+id, deactivate), 200)
	equal(t, "deactivated", storedUser(t, ep, id).Spec.Active, false)

	withoutActive := strings.Replace(oktaUser("closed@atko.com", "Clo", "Sed", "00uc"), `,
  "active": true`, "", 1)
	if strings.Contains(withoutActive, `"active"`) {
		t.Fatalf("the test body still carries active: %s", withoutActive)
	}
	for _, c := range []struct{ reason, method, body string }{
		{"PUT of the whole user without active", "PUT", withoutActive},
		{"PATCH remove active", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"active"}]}`},
		{"PATCH replace active with null", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":null}]}`},
		{"PATCH of another attribute", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Still Off"}]}`},
	} {
		r := ep.Do(t, c.method, "/Users/"+id, c.body)
		if r.Status >= 500 {
			t.Fatalf("%s: status %d: %s", c.reason, r.Status, r.Body)
		}
		if got := storedUser(t, ep, id).Spec.Active; got {
			t.Fatalf("%s (status %d) re-activated the user", c.reason, r.Status)
		}
		if r.Status == 200 {
			equal(t, c.reason+": active in the response", at(r.JSON(t), "active"), any(false))
		}
	}
	ok(t, ep.Do(t, "PATCH", "/Users/"+id, strings.Replace(deactivate, "false", "true", 1)), 200)
	equal(t, "an explicit active:true re-activates", storedUser(t, ep, id).Spec.Active, true)
	// And an active user stays active through a PUT without active.
	ok(t, ep.Do(t, "PUT", "/Users/"+id, withoutActive), 200)
	equal(t, "a PUT without active keeps an active user active", storedUser(t, ep, id).Spec.Active, true)
}

// TestUserNamePattern: an endpoint's userNamePattern refuses a create or a
// rename to a userName outside it with 400 invalidValue; a user whose name
// predates the pattern can still be deactivated.
func TestUserNamePattern(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	outside := str(oktaCreate(t, ep, "old@elsewhere.org", "Old", "Name", "00uo"), "id")
	setPattern(t, ep, `[^@:]+@atko\.com`)
	waitForPattern(t, ep)
	for _, name := range []string{"system:anonymous", "system:serviceaccount:kube-system:default", "evil@atko.com.attacker.org", "x@elsewhere.org"} {
		expectError(t, ep.Do(t, "POST", "/Users", oktaUser(name, "A", "B", "")), 400, "invalidValue")
	}
	id := str(oktaCreate(t, ep, "fine@atko.com", "Fi", "Ne", "00uf"), "id")
	rename := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"system:anonymous"}]}`
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, rename), 400, "invalidValue")
	equal(t, "userName after a refused rename", storedUser(t, ep, id).Spec.UserName, "fine@atko.com")
	deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	ok(t, ep.Do(t, "PATCH", "/Users/"+outside, deactivate), 200)
	equal(t, "a user older than the pattern is deactivated", storedUser(t, ep, outside).Spec.Active, false)
}

// setPattern sets the endpoint's userNamePattern.
func setPattern(t *testing.T, ep *testharness.Endpoint, pattern string) {
	t.Helper()
	// The endpoint reconciler writes the endpoint's status meanwhile: read
	// again after a conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var e scimv1.ScimEndpoint
		if err := op.Client.Get(t.Context(), types.NamespacedName{Namespace: ep.Namespace, Name: ep.Name}, &e); err != nil {
			return err
		}
		e.Spec.UserNamePattern = pattern
		return op.Client.Update(t.Context(), &e)
	}); err != nil {
		t.Fatal(err)
	}
}

// waitForPattern waits until the server refuses a userName outside the
// pattern (the registry picks a spec change up asynchronously); a probe user
// created before that is deleted again.
func waitForPattern(t *testing.T, ep *testharness.Endpoint) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		r := ep.Do(t, "POST", "/Users", oktaUser(fmt.Sprintf("probe-%d@elsewhere.org", i), "P", "R", ""))
		switch {
		case r.Status == 400:
			return
		case r.Status == 201:
			ep.Do(t, "DELETE", "/Users/"+str(r.JSON(t), "id"), nil)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the userNamePattern did not take effect within 10 s (last status %d)", r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
