package conformance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestOktaRoleCatalogDiscovery: Okta Identity Governance finds the Role
// resource type at /ResourceTypes and reads the endpoint's catalog at
// /Roles, paged as its own test asks (count=1&startIndex=1 wants
// itemsPerPage 1 and the full totalResults). Entries of another endpoint
// of the namespace are not listed; /Roles is read-only.
func TestOktaRoleCatalogDiscovery(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	other := op.NewEndpoint(t, ep.Namespace, "other")
	seedRoles(t, other, "other-admin")
	seedRoles(t, ep, "payments-deployer", "auditor", "reader")

	rts := search(t, ep, "/ResourceTypes")
	var role map[string]any
	for _, rt := range rts.Resources {
		if str(rt, "name") == "Role" {
			role = rt
		}
	}
	if role == nil {
		t.Fatalf("/ResourceTypes lists no Role: %v", rts.Resources)
	}
	equal(t, "Role id", str(role, "id"), "Role")
	equal(t, "Role endpoint", str(role, "endpoint"), "/Roles")
	equal(t, "Role schema", str(role, "schema"), roleURN)
	if str(role, "description") == "" {
		t.Errorf("the Role resource type has no description")
	}
	equal(t, "ResourceTypes/Role", str(get(t, ep, "/ResourceTypes/Role"), "endpoint"), "/Roles")
	roleSchema := get(t, ep, "/Schemas/"+roleURN)
	var attrs []string
	for _, a := range roleSchema["attributes"].([]any) {
		attrs = append(attrs, str(a, "name"))
	}
	equalSlices(t, "Role schema attributes", attrs, []string{"displayName", "description"})

	first := search(t, ep, "/Roles?count=1&startIndex=1")
	equal(t, "itemsPerPage", first.ItemsPerPage, 1)
	equal(t, "totalResults", first.Total, 3)
	equal(t, "startIndex", first.StartIndex, 1)
	equal(t, "first role (sorted by id)", str(first.Resources[0], "id"), "auditor")
	second := search(t, ep, "/Roles?count=1&startIndex=2")
	equal(t, "second role", str(second.Resources[0], "id"), "payments-deployer")
	all := search(t, ep, "/Roles")
	equalSlices(t, "listed roles", ids(all.Resources), []string{"auditor", "payments-deployer", "reader"})

	byID := get(t, ep, "/Roles/payments-deployer")
	equalSlices(t, "Role schemas", strs(byID["schemas"]), []string{roleURN})
	equal(t, "id", str(byID, "id"), "payments-deployer")
	equal(t, "displayName", str(byID, "displayName"), "Role payments-deployer")
	equal(t, "description", str(byID, "description"), "What payments-deployer gives.")
	equal(t, "meta.resourceType", str(byID, "meta", "resourceType"), "Role")
	equal(t, "meta.location", str(byID, "meta", "location"), ep.BaseURL+"/Roles/payments-deployer")
	if !slices.Equal(strs(all.Resources[1]["schemas"]), []string{roleURN}) || all.Resources[1]["displayName"] != "Role payments-deployer" {
		t.Errorf("listed Role differs from GET: %v", all.Resources[1])
	}

	expectError(t, ep.Do(t, "GET", "/Roles/cluster-admin", nil), 404, "")
	expectError(t, ep.Do(t, "GET", "/Roles/other-admin", nil), 404, "")
	expectError(t, ep.Do(t, "POST", "/Roles", `{"displayName": "x"}`), 405, "")
	expectError(t, ep.Do(t, "DELETE", "/Roles/auditor", nil), 405, "")
	equalSlices(t, "the other endpoint's catalog", ids(search(t, other, "/Roles").Resources), []string{"other-admin"})
}

// TestOktaGrantAndRevokeByPut: Okta grants and revokes a role with GET then
// PUT of the whole user and its complete roles array; the PUT carries
// "groups": [], which leaves the user's memberships alone. Import reads the
// roles back from the user listing.
func TestOktaGrantAndRevokeByPut(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	seedRoles(t, ep, "payments-deployer", "auditor")
	uid := str(oktaCreate(t, ep, "ada@atko.com", "Ada", "Lovelace", "00u1ada"), "id")
	gid := str(post(t, ep, "Groups", fmt.Sprintf(`{"schemas": [%q], "displayName": "Engineering", "members": [{"value": %q}]}`, groupURN, uid)), "id")

	got := grantRole(t, ep, uid, "payments-deployer")
	equalSlices(t, "roles answered", values(got["roles"]), []string{"payments-deployer"})
	equalSlices(t, "stored roles", storedRoles(t, ep, uid), []string{"payments-deployer"})
	equal(t, "stored display", storedUser(t, ep, uid).Spec.Roles[0].Display, "Role payments-deployer")
	equalSlices(t, "members after a PUT with groups: []", storedMembers(t, ep, gid), []string{uid})
	equalSlices(t, "groups rendered after the PUT", values(get(t, ep, "/Users/"+uid)["groups"]), []string{gid})

	grantRole(t, ep, uid, "auditor")
	equalSlices(t, "stored roles after a second grant", storedRoles(t, ep, uid), []string{"auditor", "payments-deployer"})
	page := search(t, ep, "/Users?startIndex=1&count=100")
	equalSlices(t, "roles on import", values(page.Resources[0]["roles"]), []string{"auditor", "payments-deployer"})

	revokeRole(t, ep, uid, "payments-deployer")
	equalSlices(t, "stored roles after the revocation", storedRoles(t, ep, uid), []string{"auditor"})
	revokeRole(t, ep, uid, "auditor")
	equalSlices(t, "stored roles after the last revocation", storedRoles(t, ep, uid), nil)
	equalSlices(t, "members after every PUT", storedMembers(t, ep, gid), []string{uid})
}

// TestRolesPatchRFC: RFC 7644 PATCH add, remove (by value filter) and
// replace on roles; a value is stored once however often it is sent.
func TestRolesPatchRFC(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	seedRoles(t, ep, "a-role", "b-role", "c-role")
	uid := str(post(t, ep, "Users", quirkUser("rfc@example.com", `"roles": []`)), "id")

	patchOK(t, ep, "/Users/"+uid, patchOp(`{"op": "add", "path": "roles", "value": [{"value": "a-role"}, {"value": "b-role"}, {"value": "a-role", "display": "again"}]}`))
	equalSlices(t, "after add", storedRoles(t, ep, uid), []string{"a-role", "b-role"})
	patchOK(t, ep, "/Users/"+uid, patchOp(`{"op": "add", "path": "roles", "value": [{"value": "b-role"}]}`))
	equalSlices(t, "after adding a held value", storedRoles(t, ep, uid), []string{"a-role", "b-role"})
	patchOK(t, ep, "/Users/"+uid, patchOp(`{"op": "remove", "path": "roles[value eq \"a-role\"]"}`))
	equalSlices(t, "after remove by value filter", storedRoles(t, ep, uid), []string{"b-role"})
	patchOK(t, ep, "/Users/"+uid, patchOp(`{"op": "replace", "path": "roles", "value": [{"value": "c-role"}, {"value": "a-role"}]}`))
	equalSlices(t, "after replace", storedRoles(t, ep, uid), []string{"a-role", "c-role"})
	patchOK(t, ep, "/Users/"+uid, patchOp(`{"op": "replace", "path": "roles[value eq \"c-role\"].display", "value": "C"}`))
	equal(t, "display set through a value filter", storedUser(t, ep, uid).Spec.Roles[0].Display, "C")
	patchOK(t, ep, "/Users/"+uid, patchOp(`{"op": "remove", "path": "roles"}`))
	equalSlices(t, "after removing roles", storedRoles(t, ep, uid), nil)
}

// TestEntraRolesReplaceWholeSet: AssertiveAppRoleAssignmentsComplex sends
// the whole set of a user's app roles as a replace of roles; a role
// missing from the set is revoked.
func TestEntraRolesReplaceWholeSet(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	seedRoles(t, ep, "admin", "reader")
	id := entraSeed(t, ep)
	equalSlices(t, `stored roles after "roles": [] on create`, storedRoles(t, ep, id), nil)

	got := patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "replace", "path": "roles", "value": [
  {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "admin"},
  {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Reader", "value": "reader"}]}`))
	equalSlices(t, "roles answered", values(got["roles"]), []string{"admin", "reader"})
	equalSlices(t, "stored roles", storedRoles(t, ep, id), []string{"admin", "reader"})

	patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Replace", "path": "roles", "value": [
  {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Reader", "value": "reader"}]}`))
	equalSlices(t, "stored roles after admin is unassigned", storedRoles(t, ep, id), []string{"reader"})
}

// TestEntraRolesAsJSONStrings: without the aadOptscim062020 flag Entra sends
// a role value as a JSON-encoded app role. A Lenient endpoint stores the
// role it names (RolesAsJSONStrings, docs/compatibility.md); a Strict one
// reads the string as the value, which names no catalog entry: 400
// invalidValue, nothing stored.
func TestEntraRolesAsJSONStrings(t *testing.T) {
	t.Parallel()
	ns := testharness.Namespace(t)
	lenient := op.NewEndpoint(t, ns, "lenient")
	strict := op.NewEndpoint(t, ns, "strict", func(e *scimv1.ScimEndpoint) { e.Spec.Compatibility = scimv1.CompatibilityStrict })
	seedRoles(t, lenient, "lenient-admin")
	seedRoles(t, strict, "strict-admin")
	encoded := func(value string) string {
		return fmt.Sprintf(`"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"%s\",\"displayName\":\"Administrator\"}"`, value)
	}

	lid := entraSeed(t, lenient)
	patchOK(t, lenient, "/Users/"+lid, entraPatch(`{"op": "Add", "path": "roles", "value": [{"value": `+encoded("lenient-admin")+`}]}`))
	stored := storedUser(t, lenient, lid).Spec.Roles
	if len(stored) != 1 || stored[0].Value != "lenient-admin" || stored[0].Display != "Administrator" {
		t.Fatalf("lenient stored roles %+v, want lenient-admin displayed Administrator", stored)
	}

	sid := str(post(t, strict, "Users", entraUser("strict-user", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")), "id")
	r := strict.Do(t, "PATCH", "/Users/"+sid, patchOp(`{"op": "add", "path": "roles", "value": [{"value": `+encoded("strict-admin")+`}]}`))
	expectError(t, r, 400, "invalidValue")
	equalSlices(t, "strict stored roles", storedRoles(t, strict, sid), nil)
	patchOK(t, strict, "/Users/"+sid, patchOp(`{"op": "add", "path": "roles", "value": [{"value": "strict-admin"}]}`))
	equalSlices(t, "strict stored roles for the plain value", storedRoles(t, strict, sid), []string{"strict-admin"})
}

// TestUnknownRoleRefused: a role value that names no entry of the
// endpoint's catalog, or an entry of another endpoint, is 400 invalidValue
// naming the value, in POST, PUT and PATCH, and nothing is stored.
func TestUnknownRoleRefused(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	other := op.NewEndpoint(t, ep.Namespace, "other")
	seedRoles(t, ep, "reader")
	seedRoles(t, other, "other-admin")
	uid := str(post(t, ep, "Users", quirkUser("held@example.com", `"roles": [{"value": "reader"}]`)), "id")
	before := rawObject(t, storedUser(t, ep, uid).Spec)

	for _, unknown := range []string{"cluster-admin", "other-admin"} {
		requests := map[string]testharness.Response{
			"POST":  ep.Do(t, "POST", "/Users", quirkUser("new@example.com", fmt.Sprintf(`"roles": [{"value": "reader"}, {"value": %q}]`, unknown))),
			"PUT":   ep.Do(t, "PUT", "/Users/"+uid, quirkUser("held@example.com", fmt.Sprintf(`"roles": [{"value": "reader"}, {"value": %q}]`, unknown))),
			"PATCH": ep.Do(t, "PATCH", "/Users/"+uid, patchOp(fmt.Sprintf(`{"op": "add", "path": "roles", "value": [{"value": %q}]}`, unknown))),
		}
		for kind, r := range requests {
			m := expectError(t, r, 400, "invalidValue")
			if !strings.Contains(str(m, "detail"), strconv.Quote(unknown)) {
				t.Errorf("%s with %s: detail %q does not name the value", kind, unknown, str(m, "detail"))
			}
		}
	}
	equal(t, "users named new@example.com", search(t, ep, filterQuery("Users", `userName eq "new@example.com"`)).Total, 0)
	equal(t, "the user after the refused writes", rawObject(t, storedUser(t, ep, uid).Spec), before)
}

// TestDeletedCatalogEntry: a deleted ScimEntitlement leaves /Roles and can
// no longer be granted; a user who holds it can still be changed and
// deactivated (a held value is never refused).
func TestDeletedCatalogEntry(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	seedRoles(t, ep, "temporary", "reader")
	holder := str(oktaCreate(t, ep, "holder@atko.com", "Hol", "Der", "00u1"), "id")
	other := str(oktaCreate(t, ep, "other@atko.com", "Oth", "Er", "00u2"), "id")
	grantRole(t, ep, holder, "temporary")

	deleteRole(t, ep, "temporary")
	equalSlices(t, "listed roles", ids(search(t, ep, "/Roles").Resources), []string{"reader"})
	expectError(t, ep.Do(t, "GET", "/Roles/temporary", nil), 404, "")
	cur := get(t, ep, "/Users/"+other)
	expectError(t, ep.Do(t, "PUT", "/Users/"+other, oktaPutBody(t, cur, []string{"temporary"})), 400, "invalidValue")
	equalSlices(t, "roles of the user refused the deleted entry", storedRoles(t, ep, other), nil)

	grantRole(t, ep, holder, "reader")
	equalSlices(t, "the holder's roles after another grant", storedRoles(t, ep, holder), []string{"reader", "temporary"})
	patchOK(t, ep, "/Users/"+holder, patchOp(`{"op": "replace", "value": {"active": false}}`))
	equal(t, "the holder deactivated", storedUser(t, ep, holder).Spec.Active, false)
}
