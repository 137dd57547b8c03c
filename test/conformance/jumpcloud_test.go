package conformance

import (
	"fmt"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestJumpCloudTestConnection replays JumpCloud's "Test Connection" of a
// custom SCIM integration: it creates a test user (the administrator's
// "Test User Email") and a test group, then deletes both ("Identity
// Management using a Custom SCIM Integration", jumpcloud.com/support). The
// member is taken out of the group the way a vendor's JumpCloud guide
// reports JumpCloud doing it, a remove on members with a value list (a
// third-party report, docs/compatibility.md, JumpCloud): Lenient removes
// the member (RemoveWithValue), Strict answers 400 invalidValue and keeps
// it. JumpCloud's own pages show no request body.
func TestJumpCloudTestConnection(t *testing.T) {
	t.Parallel()
	ns := testharness.Namespace(t)
	lenient := op.NewEndpoint(t, ns, "jumpcloud")
	strict := op.NewEndpoint(t, ns, "jumpcloud-strict", func(e *scimv1.ScimEndpoint) { e.Spec.Compatibility = scimv1.CompatibilityStrict })

	for mode, ep := range map[string]*testharness.Endpoint{"Lenient": lenient, "Strict": strict} {
		uid := str(post(t, ep, "Users", fmt.Sprintf(`{"schemas": [%q], "userName": "jc-test@example.com",
  "name": {"givenName": "JumpCloud", "familyName": "Test"}, "emails": [{"value": "jc-test@example.com", "type": "work", "primary": true}],
  "active": true}`, userURN)), "id")
		gid := str(post(t, ep, "Groups", fmt.Sprintf(`{"schemas": [%q], "displayName": "JumpCloud test group", "members": [{"value": %q}]}`, groupURN, uid)), "id")
		equalSlices(t, mode+": members after create", storedMembers(t, ep, gid), []string{uid})

		r := ep.Do(t, "PATCH", "/Groups/"+gid, patchOp(fmt.Sprintf(`{"op": "remove", "path": "members", "value": [{"value": %q}]}`, uid)))
		if mode == "Lenient" {
			if r.Status/100 != 2 {
				t.Fatalf("Lenient: remove with a value list: %d %s", r.Status, r.Body)
			}
			equal(t, "Lenient: members after the remove", len(storedMembers(t, ep, gid)), 0)
		} else {
			expectError(t, r, 400, "invalidValue")
			equalSlices(t, "Strict: members after the refused remove", storedMembers(t, ep, gid), []string{uid})
		}

		expectStatus(t, ep.Do(t, "DELETE", "/Groups/"+gid, nil), 204)
		expectStatus(t, ep.Do(t, "DELETE", "/Users/"+uid, nil), 204)
		expectError(t, ep.Do(t, "GET", "/Groups/"+gid, nil), 404, "")
		expectError(t, ep.Do(t, "GET", "/Users/"+uid, nil), 404, "")
	}
}
