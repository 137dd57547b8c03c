package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// entraUser is the body Entra ID POSTs to create a user ("Tutorial: Develop
// and plan provisioning for a SCIM endpoint", Create User request).
func entraUser(userName, externalID string) string {
	return fmt.Sprintf(`{
  "schemas": [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": %q,
  "userName": %q,
  "active": true,
  "emails": [{"primary": true, "type": "work", "value": "%s@testuser.com"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
  "roles": []
}`, externalID, userName, userName)
}

// entraGroup is the body Entra ID POSTs to create a group.
func entraGroup(displayName, externalID string) string {
	return fmt.Sprintf(`{
  "schemas": [
    "urn:ietf:params:scim:schemas:core:2.0:Group",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
  "externalId": %q,
  "displayName": %q,
  "meta": {"resourceType": "Group"}
}`, externalID, displayName)
}

// entraPatch wraps operations in a PatchOp message as Entra ID sends it.
func entraPatch(ops ...string) string {
	return `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [` + strings.Join(ops, ", ") + `]}`
}

// entraSeed creates one Entra user and returns its id.
func entraSeed(t *testing.T, ep *testharness.Endpoint) string {
	t.Helper()
	return str(post(t, ep, "Users", entraUser("Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")), "id")
}

// TestEntraTestConnection: the connection test filters on a random GUID and
// expects 200 with an empty ListResponse, whatever attribute it matches on.
func TestEntraTestConnection(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	entraSeed(t, ep)
	guid := newID()
	for _, f := range []string{
		fmt.Sprintf(`userName eq "%s"`, guid),
		fmt.Sprintf(`externalId eq "%s"`, guid),
		fmt.Sprintf(`id eq "%s"`, guid),
	} {
		page := search(t, ep, filterQuery("Users", f))
		equal(t, f+": totalResults", page.Total, 0)
		equal(t, f+": Resources", len(page.Resources), 0)
	}
	page := search(t, ep, filterQuery("Groups", fmt.Sprintf(`displayName eq "%s"`, guid), "excludedAttributes=members"))
	equal(t, "groups totalResults", page.Total, 0)
}

// TestEntraMatching: Entra matches users by userName or externalId with eq,
// joined with and; externalId is case-exact.
func TestEntraMatching(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	post(t, ep, "Users", entraUser("Other_User", "11111111-2222-3333-4444-555555555555"))
	for _, f := range []string{
		`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`,
		`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
		`userName eq "test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
	} {
		page := search(t, ep, filterQuery("Users", f))
		equalSlices(t, f, ids(page.Resources), []string{id})
	}
	for _, f := range []string{
		`externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF"`,
		`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1" and externalId eq "11111111-2222-3333-4444-555555555555"`,
	} {
		equal(t, f, search(t, ep, filterQuery("Users", f)).Total, 0)
	}
}

// TestEntraGroupMatchingExcludesMembers: Entra looks groups up with
// excludedAttributes=members&filter=displayName eq "...", and reads them
// back the same way; members are left out only when excluded.
func TestEntraGroupMatchingExcludesMembers(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	uid := entraSeed(t, ep)
	gid := str(post(t, ep, "Groups", entraGroup("Group1DisplayName", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")), "id")
	patchOK(t, ep, "/Groups/"+gid, entraPatch(fmt.Sprintf(`{"op": "Add", "path": "members", "value": [{"$ref": null, "value": %q}]}`, uid)))

	page := search(t, ep, "/Groups?excludedAttributes=members&filter="+strings.ReplaceAll(`displayName+eq+"Group1DisplayName"`, `"`, "%22"))
	equalSlices(t, "groups", ids(page.Resources), []string{gid})
	g := page.Resources[0]
	if _, has := g["members"]; has {
		t.Fatalf("members returned although excluded: %v", g)
	}
	equal(t, "displayName", str(g, "displayName"), "Group1DisplayName")
	equal(t, "externalId", str(g, "externalId"), "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")

	byID := get(t, ep, "/Groups/"+gid+"?excludedAttributes=members")
	if _, has := byID["members"]; has {
		t.Fatalf("members returned although excluded: %v", byID)
	}
	equalSlices(t, "members when not excluded", values(get(t, ep, "/Groups/"+gid)["members"]), []string{uid})
	page = search(t, ep, filterQuery("Groups", `displayName eq "group1displayname"`))
	equalSlices(t, "members in list", values(page.Resources[0]["members"]), []string{uid})
}

// TestEntraCapitalizedOps: Entra writes "Replace", "Add" and "Remove".
func TestEntraCapitalizedOps(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	got := patchOK(t, ep, "/Users/"+id, entraPatch(
		`{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}`,
		`{"op": "Add", "path": "title", "value": "Engineer"}`,
		`{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "701984"}`,
		`{"op": "Remove", "path": "name.formatted"}`,
	))
	equal(t, "familyName", str(got, "name", "familyName"), "updatedFamilyName")
	equal(t, "givenName kept", str(got, "name", "givenName"), "givenName")
	equal(t, "formatted removed", at(got, "name", "formatted"), nil)
	equal(t, "title", str(got, "title"), "Engineer")
	equal(t, "employeeNumber", str(got, enterpriseURN, "employeeNumber"), "701984")
	stored := storedUser(t, ep, id)
	equal(t, "stored familyName", stored.Spec.Name.FamilyName, "updatedFamilyName")
	equal(t, "stored formatted", stored.Spec.Name.Formatted, "")
	equal(t, "stored employeeNumber", stored.Spec.Enterprise.EmployeeNumber, "701984")
}

// TestEntraStringBooleans: soft delete is a Replace of active with the
// string "False"; "True" reactivates.
func TestEntraStringBooleans(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	for _, v := range []string{`"False"`, `"True"`, `"false"`, `true`, `false`, `"TRUE"`} {
		got := patchOK(t, ep, "/Users/"+id, entraPatch(fmt.Sprintf(`{"op": "Replace", "path": "active", "value": %s}`, v)))
		want := strings.EqualFold(strings.Trim(v, `"`), "true")
		equal(t, "active in response to "+v, at(got, "active"), any(want))
		equal(t, "stored active after "+v, storedUser(t, ep, id).Spec.Active, want)
	}
}

// TestEntraNoPathDottedKeys: a no-path Replace whose value uses dotted keys
// and full extension URN keys, with a string boolean.
func TestEntraNoPathDottedKeys(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	got := patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Replace", "value": {
    "name.givenName": "Barbara",
    "name.familyName": "Jensen",
    "displayName": "Babs Jensen",
    "active": "False",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour Operations",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "26118915-6090-4610-87e4-49d8ca9f808d"}}`))
	equal(t, "givenName", str(got, "name", "givenName"), "Barbara")
	equal(t, "familyName", str(got, "name", "familyName"), "Jensen")
	equal(t, "formatted kept", str(got, "name", "formatted"), "givenName familyName")
	equal(t, "displayName", str(got, "displayName"), "Babs Jensen")
	equal(t, "active", at(got, "active"), any(false))
	equal(t, "department", str(got, enterpriseURN, "department"), "Tour Operations")
	equal(t, "employeeNumber", str(got, enterpriseURN, "employeeNumber"), "42")
	equal(t, "manager", str(got, enterpriseURN, "manager", "value"), "26118915-6090-4610-87e4-49d8ca9f808d")
	if !strings.Contains(strings.Join(strs(got["schemas"]), " "), enterpriseURN) {
		t.Fatalf("schemas %v lack the enterprise extension", got["schemas"])
	}
	stored := storedUser(t, ep, id)
	equal(t, "stored active", stored.Spec.Active, false)
	equal(t, "stored department", stored.Spec.Enterprise.Department, "Tour Operations")
	equal(t, "stored manager", stored.Spec.Enterprise.Manager.Value, "26118915-6090-4610-87e4-49d8ca9f808d")

	// The same with the extension as a nested object.
	got = patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "replace", "value": {
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}}}`))
	equal(t, "department", str(got, enterpriseURN, "department"), "Sales")
	equal(t, "employeeNumber kept", str(got, enterpriseURN, "employeeNumber"), "42")
}

// TestEntraMembers: members are added with "$ref": null and removed with
// {"op":"Remove","path":"members","value":[{"value":"id"}]}.
func TestEntraMembers(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	u1 := entraSeed(t, ep)
	u2 := str(post(t, ep, "Users", entraUser("Second_User", "22222222-2222-3333-4444-555555555555")), "id")
	u3 := str(post(t, ep, "Users", entraUser("Third_User", "33333333-2222-3333-4444-555555555555")), "id")
	gid := str(post(t, ep, "Groups", entraGroup("Entra Members", "9aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")), "id")

	patchOK(t, ep, "/Groups/"+gid, entraPatch(fmt.Sprintf(
		`{"op": "Add", "path": "members", "value": [{"$ref": null, "value": %q}, {"$ref": null, "value": %q}, {"$ref": null, "value": %q}]}`, u1, u2, u3)))
	equalSlices(t, "members after add", storedMembers(t, ep, gid), sorted(u1, u2, u3))

	// Adding an existing member again is harmless.
	patchOK(t, ep, "/Groups/"+gid, entraPatch(fmt.Sprintf(`{"op": "Add", "path": "members", "value": [{"$ref": null, "value": %q}]}`, u1)))
	equalSlices(t, "members after re-add", storedMembers(t, ep, gid), sorted(u1, u2, u3))

	g := patchOK(t, ep, "/Groups/"+gid, entraPatch(fmt.Sprintf(`{"op": "Remove", "path": "members", "value": [{"value": %q}, {"$ref": null, "value": %q}]}`, u1, u3)))
	equalSlices(t, "members in response", values(g["members"]), []string{u2})
	equalSlices(t, "members read back", values(get(t, ep, "/Groups/"+gid)["members"]), []string{u2})
	equalSlices(t, "stored members", storedMembers(t, ep, gid), []string{u2})
	equalSlices(t, "groups of the remaining member", values(get(t, ep, "/Users/"+u2)["groups"]), []string{gid})
}

// TestEntraFilteredPathUpsert: Add or Replace on emails[type eq "work"].value
// (and the like) creates the element when there is none, and otherwise
// changes only the selected element.
func TestEntraFilteredPathUpsert(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := str(post(t, ep, "Users", `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "upsert@contoso.com", "active": true,
  "emails": [{"type": "home", "value": "home@example.com"}]}`), "id")

	got := patchOK(t, ep, "/Users/"+id, entraPatch(
		`{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "work@contoso.com"}`,
		`{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"}`,
		`{"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "1 Microsoft Way"}`,
		`{"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"}`,
	))
	emails := map[string]string{}
	for _, e := range got["emails"].([]any) {
		emails[str(e, "type")] = str(e, "value")
	}
	equal(t, "emails", fmt.Sprint(emails), fmt.Sprint(map[string]string{"home": "home@example.com", "work": "work@contoso.com"}))
	equal(t, "mobile type", str(got, "phoneNumbers", 0, "type"), "mobile")
	equal(t, "mobile", str(got, "phoneNumbers", 0, "value"), "+1 555 0100")
	equal(t, "addresses", len(got["addresses"].([]any)), 1)
	equal(t, "address type", str(got, "addresses", 0, "type"), "work")
	equal(t, "address formatted", str(got, "addresses", 0, "formatted"), "1 Microsoft Way")
	equal(t, "address locality", str(got, "addresses", 0, "locality"), "Redmond")

	// The element now exists: a second Replace changes it in place.
	got = patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"}`))
	equal(t, "emails", len(got["emails"].([]any)), 2)
	page := search(t, ep, filterQuery("Users", `emails[type eq "work" and value eq "new@contoso.com"]`))
	equalSlices(t, "found by the new work email", ids(page.Resources), []string{id})
	stored := storedUser(t, ep, id)
	equal(t, "stored emails", len(stored.Spec.Emails), 2)
	equal(t, "stored phone", stored.Spec.PhoneNumbers[0].Value, "+1 555 0100")
	equal(t, "stored address", stored.Spec.Addresses[0].Locality, "Redmond")
}

// TestEntraManager: the enterprise manager arrives as a plain id string or as
// an object {value, $ref}, and can be removed.
func TestEntraManager(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	boss := str(post(t, ep, "Users", entraUser("Boss_User", "44444444-2222-3333-4444-555555555555")), "id")
	boss2 := str(post(t, ep, "Users", entraUser("Boss_Two", "55555555-2222-3333-4444-555555555555")), "id")

	got := patchOK(t, ep, "/Users/"+id, entraPatch(fmt.Sprintf(
		`{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": %q}`, boss)))
	equal(t, "manager from string", str(got, enterpriseURN, "manager", "value"), boss)
	equal(t, "stored manager", storedUser(t, ep, id).Spec.Enterprise.Manager.Value, boss)

	ref := ep.BaseURL + "/Users/" + boss2
	got = patchOK(t, ep, "/Users/"+id, entraPatch(fmt.Sprintf(
		`{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": %q, "$ref": %q}}`, boss2, ref)))
	equal(t, "manager from object", str(got, enterpriseURN, "manager", "value"), boss2)
	equal(t, "manager $ref", str(got, enterpriseURN, "manager", "$ref"), ref)
	equal(t, "stored manager", storedUser(t, ep, id).Spec.Enterprise.Manager.Value, boss2)

	got = patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}`))
	equal(t, "manager removed", at(got, enterpriseURN, "manager"), nil)
	if stored := storedUser(t, ep, id); stored.Spec.Enterprise != nil && stored.Spec.Enterprise.Manager != nil {
		t.Fatalf("manager still stored: %+v", stored.Spec.Enterprise.Manager)
	}
}

// TestEntraRolesPrimaryTrue: SingleAppRoleAssignment's
// roles[primary eq "True"].value creates the primary role and then replaces
// its value in place; values are ids of the endpoint's catalog.
func TestEntraRolesPrimaryTrue(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	seedRoles(t, ep, "admin", "reader")
	id := entraSeed(t, ep)
	got := patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "admin"}`))
	equal(t, "roles", len(got["roles"].([]any)), 1)
	equal(t, "role value", str(got, "roles", 0, "value"), "admin")
	equal(t, "role primary", at(got, "roles", 0, "primary"), any(true))

	got = patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "reader"}`))
	equal(t, "roles", len(got["roles"].([]any)), 1)
	equal(t, "role value", str(got, "roles", 0, "value"), "reader")
	stored := storedUser(t, ep, id)
	equal(t, "stored role", stored.Spec.Roles[0].Value, "reader")
	equal(t, "stored primary", stored.Spec.Roles[0].Primary, true)

	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, entraPatch(`{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Admin"}`)), 400, "invalidValue")
	equalSlices(t, "stored roles after an unknown value", storedRoles(t, ep, id), []string{"reader"})
}

// TestEntraGroupPatch: group renames and member changes may answer 200 or
// 204; the state afterwards is what counts.
func TestEntraGroupPatch(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	uid := entraSeed(t, ep)
	gid := str(post(t, ep, "Groups", entraGroup("Before Rename", "aaa1a0c0-c4c3-4bc0-b4a5-2ef676900159")), "id")
	r := ep.Do(t, "PATCH", "/Groups/"+gid, entraPatch(
		`{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}`,
		fmt.Sprintf(`{"op": "Add", "path": "members", "value": [{"$ref": null, "value": %q}]}`, uid),
	))
	if r.Status != 200 && r.Status != 204 {
		t.Fatalf("group PATCH: %d %s", r.Status, r.Body)
	}
	g := get(t, ep, "/Groups/"+gid)
	equal(t, "displayName", str(g, "displayName"), "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")
	equalSlices(t, "members", values(g["members"]), []string{uid})
	equal(t, "stored displayName", storedGroup(t, ep, gid).Spec.DisplayName, "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName")
	page := search(t, ep, filterQuery("Groups", `displayName eq "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"`, "excludedAttributes=members"))
	equalSlices(t, "found by new name", ids(page.Resources), []string{gid})
	equal(t, "found by old name", search(t, ep, filterQuery("Groups", `displayName eq "Before Rename"`)).Total, 0)
	// The old name is free for another group, the new one is taken.
	post(t, ep, "Groups", entraGroup("Before Rename", "bbb1a0c0-c4c3-4bc0-b4a5-2ef676900159"))
	expectError(t, ep.Do(t, "POST", "/Groups", entraGroup("1879DB59-3bdf-4490-ad68-ab880a269474updatedDisplayName", "x")), 409, "uniqueness")
}

// TestEntraSoftThenHardDelete: soft delete (active "False"), then DELETE
// about 30 days later: 204, gone from reads and groups, userName reusable.
func TestEntraSoftThenHardDelete(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	gid := str(post(t, ep, "Groups", entraGroup("Deleted Users Group", "ccc1a0c0-c4c3-4bc0-b4a5-2ef676900159")), "id")
	patchOK(t, ep, "/Groups/"+gid, entraPatch(fmt.Sprintf(`{"op": "Add", "path": "members", "value": [{"$ref": null, "value": %q}]}`, id)))
	patchOK(t, ep, "/Users/"+id, entraPatch(`{"op": "Replace", "path": "active", "value": "False"}`))

	r := ep.Do(t, "DELETE", "/Users/"+id, nil)
	expectStatus(t, r, 204)
	expectError(t, ep.Do(t, "GET", "/Users/"+id, nil), 404, "")
	expectError(t, ep.Do(t, "DELETE", "/Users/"+id, nil), 404, "")
	expectError(t, ep.Do(t, "PATCH", "/Users/"+id, entraPatch(`{"op": "Replace", "path": "active", "value": "True"}`)), 404, "")
	equal(t, "found by userName", search(t, ep, filterQuery("Users", `userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`)).Total, 0)
	equal(t, "stored members", len(storedMembers(t, ep, gid)), 0)
	equal(t, "members", len(values(get(t, ep, "/Groups/"+gid)["members"])), 0)
	entraSeed(t, ep)
}

// TestEntraValidatorEmails: the Entra SCIM validator's PATCH creates work,
// home and other emails through filtered paths, sets their display and moves
// primary from work to home.
func TestEntraValidatorEmails(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	id := entraSeed(t, ep)
	got := patchOK(t, ep, "/Users/"+id, entraPatch(
		`{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "oren.collins@white.com"}`,
		`{"op": "add", "path": "emails[type eq \"home\"].value", "value": "angelita@mante.us"}`,
		`{"op": "add", "path": "emails[type eq \"other\"].value", "value": "yasmine_bins@braun.us"}`,
		`{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "0TXBC2MOGUI0"}`,
		`{"op": "replace", "path": "emails[type eq \"home\"].display", "value": "14UDKFEIO3YS"}`,
		`{"op": "replace", "path": "emails[type eq \"other\"].display", "value": "YFQRBLBNUS0R"}`,
		`{"op": "add", "path": "emails[type eq \"work\"].primary", "value": false}`,
		`{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}`,
	))
	type email struct {
		value, display string
		primary        bool
	}
	byType := map[string]email{}
	for _, e := range got["emails"].([]any) {
		byType[str(e, "type")] = email{str(e, "value"), str(e, "display"), at(e, "primary") == true}
	}
	want := map[string]email{
		"work":  {"oren.collins@white.com", "0TXBC2MOGUI0", false},
		"home":  {"angelita@mante.us", "14UDKFEIO3YS", true},
		"other": {"yasmine_bins@braun.us", "YFQRBLBNUS0R", false},
	}
	equal(t, "emails", fmt.Sprint(byType), fmt.Sprint(want))
	equal(t, "stored emails", len(storedUser(t, ep, id).Spec.Emails), 3)
}
