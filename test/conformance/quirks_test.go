package conformance

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// quirkSeed is what each case starts from on each endpoint: a user and a
// group with that user as its member.
type quirkSeed struct{ user, group string }

func seedQuirks(t *testing.T, ep *testharness.Endpoint, name string) quirkSeed {
	t.Helper()
	uid := str(post(t, ep, "Users", quirkUser(name, "")), "id")
	gid := str(post(t, ep, "Groups", fmt.Sprintf(`{"schemas": [%q], "displayName": %q, "members": [{"value": %q}]}`, groupURN, name, uid)), "id")
	return quirkSeed{user: uid, group: gid}
}

// quirkUser is a valid user body with extra top-level members spliced in.
func quirkUser(userName, extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return fmt.Sprintf(`{"schemas": [%q, %q], "userName": %q, "active": true,
  "name": {"givenName": "Ada", "familyName": "Lovelace"},
  "emails": [{"value": %q, "type": "work", "primary": true}]%s}`, userURN, enterpriseURN, userName, userName, extra)
}

// quirkUserWith is quirkUser with the member key set to the JSON value raw.
func quirkUserWith(t *testing.T, userName, key, raw string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(quirkUser(userName, "")), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = json.RawMessage(raw)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return string(data)
}

func patchOp(ops ...string) string {
	return `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [` + strings.Join(ops, ", ") + `]}`
}

// TestQuirksByMode: each identity-provider deviation of the catalogue
// (docs/compatibility.md) is accepted by a Lenient endpoint, which stores
// what the IdP meant, and refused by a Strict one with the scimType given.
// Every request is otherwise valid, so the deviation is what is tested.
func TestQuirksByMode(t *testing.T) {
	t.Parallel()
	ns := testharness.Namespace(t)
	lenient := op.NewEndpoint(t, ns, "lenient")
	strict := op.NewEndpoint(t, ns, "strict", func(e *scimv1.ScimEndpoint) { e.Spec.Compatibility = scimv1.CompatibilityStrict })
	cases := []struct {
		quirk, reason string
		send          func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, fresh string) testharness.Response
		strictType    string
		// stored checks, on the lenient endpoint, what the request changed.
		stored func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, body map[string]any)
	}{
		{quirk: "StringBooleans", reason: `POST with active "False"`, strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, _ quirkSeed, fresh string) testharness.Response {
				return ep.Do(t, "POST", "/Users", strings.Replace(quirkUser(fresh, ""), `"active": true`, `"active": "False"`, 1))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, _ quirkSeed, body map[string]any) {
				equal(t, "stored active", storedUser(t, ep, str(body, "id")).Spec.Active, false)
			}},
		{quirk: "StringBooleans", reason: `PUT with active "FALSE"`, strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				cur := get(t, ep, "/Users/"+s.user)
				return ep.Do(t, "PUT", "/Users/"+s.user, strings.Replace(quirkUser(str(cur, "userName"), ""), `"active": true`, `"active": "FALSE"`, 1))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored active", storedUser(t, ep, s.user).Spec.Active, false)
			}},
		{quirk: "StringBooleans", reason: `PATCH with value "False"`, strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Users/"+s.user, patchOp(`{"op": "replace", "path": "active", "value": "False"}`))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored active", storedUser(t, ep, s.user).Spec.Active, false)
			}},
		{quirk: "CapitalizedOps", reason: `op "Replace"`, strictType: "invalidSyntax",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Users/"+s.user, patchOp(`{"op": "Replace", "path": "title", "value": "Engineer"}`))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored title", storedUser(t, ep, s.user).Spec.Title, "Engineer")
			}},
		{quirk: "AttributePathKeys", reason: "no-path value with dotted and URN keys", strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Users/"+s.user, patchOp(`{"op": "replace", "value": {"name.givenName": "Babs",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours"}}`))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				u := storedUser(t, ep, s.user)
				equal(t, "stored givenName", u.Spec.Name.GivenName, "Babs")
				equal(t, "stored department", u.Spec.Enterprise.Department, "Tours")
			}},
		{quirk: "RemoveWithValue", reason: "remove members with a value list", strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Groups/"+s.group, patchOp(fmt.Sprintf(`{"op": "remove", "path": "members", "value": [{"value": %q}]}`, s.user)))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored members", len(storedMembers(t, ep, s.group)), 0)
			}},
		{quirk: "ManagerAsString", reason: "POST with the manager as an id string", strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, fresh string) testharness.Response {
				return ep.Do(t, "POST", "/Users", quirkUser(fresh, fmt.Sprintf(`%q: {"manager": %q}`, enterpriseURN, s.user)))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, body map[string]any) {
				equal(t, "stored manager", storedUser(t, ep, str(body, "id")).Spec.Enterprise.Manager.Value, s.user)
			}},
		{quirk: "ManagerAsString", reason: "PATCH with the manager as an id string", strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Users/"+s.user, patchOp(fmt.Sprintf(`{"op": "add", "path": "%s:manager", "value": "boss-1"}`, enterpriseURN)))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored manager", storedUser(t, ep, s.user).Spec.Enterprise.Manager.Value, "boss-1")
			}},
		{quirk: "FilteredPathCreates", reason: "add to a filtered path with no such element", strictType: "noTarget",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Users/"+s.user, patchOp(`{"op": "add", "path": "emails[type eq \"home\"].value", "value": "home@example.com"}`))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored emails", len(storedUser(t, ep, s.user).Spec.Emails), 2)
			}},
		{quirk: "SubAttributeFilters", reason: `GET with filter emails[type eq "work"].value eq <the user's address>`, strictType: "invalidFilter",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				cur := get(t, ep, "/Users/"+s.user)
				return ep.Do(t, "GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf(`emails[type eq "work"].value eq %q`, str(cur, "userName"))), nil)
			},
			stored: func(t *testing.T, _ *testharness.Endpoint, s quirkSeed, body map[string]any) {
				res, _ := body["Resources"].([]any)
				if len(res) != 1 || str(res[0].(map[string]any), "id") != s.user {
					t.Errorf("the filter found %v, want the seeded user %s alone", res, s.user)
				}
			}},
		{quirk: "ForeignSchemaURNs", reason: "a group listing Entra's ADSCIM schema", strictType: "invalidSyntax",
			send: func(t *testing.T, ep *testharness.Endpoint, _ quirkSeed, fresh string) testharness.Response {
				return ep.Do(t, "POST", "/Groups", fmt.Sprintf(`{"schemas": [%q, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"], "displayName": %q}`, groupURN, fresh))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, _ quirkSeed, body map[string]any) {
				equal(t, "stored displayName", storedGroup(t, ep, str(body, "id")).Spec.DisplayName, str(body, "displayName"))
			}},
		{quirk: "IgnoreUnknownAttributes", reason: "POST with an attribute the schema lacks", strictType: "invalidSyntax",
			send: func(t *testing.T, ep *testharness.Endpoint, _ quirkSeed, fresh string) testharness.Response {
				return ep.Do(t, "POST", "/Users", quirkUser(fresh, `"favoriteColor": "teal"`))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, _ quirkSeed, body map[string]any) {
				if raw := rawObject(t, storedUser(t, ep, str(body, "id"))); strings.Contains(raw, "teal") {
					t.Fatalf("the unknown attribute was stored: %s", raw)
				}
			}},
		{quirk: "IgnoreUnknownAttributes", reason: "PATCH with an unknown key in a no-path value", strictType: "invalidValue",
			send: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ string) testharness.Response {
				return ep.Do(t, "PATCH", "/Users/"+s.user, patchOp(`{"op": "replace", "value": {"favoriteColor": "teal", "title": "Lead"}}`))
			},
			stored: func(t *testing.T, ep *testharness.Endpoint, s quirkSeed, _ map[string]any) {
				equal(t, "stored title", storedUser(t, ep, s.user).Spec.Title, "Lead")
			}},
	}
	for i, tc := range cases {
		t.Run(tc.quirk+"/"+tc.reason, func(t *testing.T) {
			name := fmt.Sprintf("quirk%d", i)
			ls, ss := seedQuirks(t, lenient, name), seedQuirks(t, strict, name)
			r := tc.send(t, lenient, ls, name+"-new@example.com")
			if r.Status/100 != 2 {
				t.Fatalf("lenient: %d %s, want 2xx", r.Status, r.Body)
			}
			var body map[string]any
			if len(r.Body) > 0 {
				body = r.JSON(t)
			}
			tc.stored(t, lenient, ls, body)
			expectError(t, tc.send(t, strict, ss, name+"-new@example.com"), 400, tc.strictType)
		})
	}
}

// TestUndocumentedValuesRefused: values of the wrong type that no identity
// provider documents sending get the same answer from POST, PUT and PATCH,
// on a Lenient and a Strict endpoint: 400 with the scimType given, and
// nothing stored.
func TestUndocumentedValuesRefused(t *testing.T) {
	t.Parallel()
	ns := testharness.Namespace(t)
	endpoints := map[string]*testharness.Endpoint{
		"Lenient": op.NewEndpoint(t, ns, "lenient"),
		"Strict": op.NewEndpoint(t, ns, "strict", func(e *scimv1.ScimEndpoint) {
			e.Spec.Compatibility = scimv1.CompatibilityStrict
		}),
	}
	cases := []struct {
		reason string
		// key and body are the member POST and PUT send; path and value
		// the PATCH operation setting the same.
		key, body, path, value string
	}{
		{"a number for a string", "title", `12`, "title", `12`},
		{"a boolean for a string", "title", `true`, "title", `true`},
		{"a number for a sub-attribute string", "name", `{"givenName": 5}`, "name.givenName", `5`},
		{"a number for an extension string", enterpriseURN, `{"employeeNumber": 1234}`, enterpriseURN + ":employeeNumber", `1234`},
		{`"1" for a boolean`, "active", `"1"`, "active", `"1"`},
		{`"t" for a boolean`, "active", `"t"`, "active", `"t"`},
		{"a number for a boolean", "active", `0`, "active", `0`},
		{"a string for a multi-valued complex attribute", "emails", `"a@example.com"`, "emails", `"a@example.com"`},
		{"one object for a multi-valued complex attribute", "emails", `{"value": "a@example.com"}`, "emails", `{"value": "a@example.com"}`},
		{"a number for the manager", enterpriseURN, `{"manager": 5}`, enterpriseURN + ":manager", `5`},
	}
	for mode, ep := range endpoints {
		uid := str(post(t, ep, "Users", quirkUser("seed@example.com", "")), "id")
		before := rawObject(t, storedUser(t, ep, uid).Spec)
		for i, tc := range cases {
			fresh := fmt.Sprintf("bad%d@example.com", i)
			requests := map[string]testharness.Response{
				"POST":  ep.Do(t, "POST", "/Users", quirkUserWith(t, fresh, tc.key, tc.body)),
				"PUT":   ep.Do(t, "PUT", "/Users/"+uid, quirkUserWith(t, "seed@example.com", tc.key, tc.body)),
				"PATCH": ep.Do(t, "PATCH", "/Users/"+uid, patchOp(fmt.Sprintf(`{"op": "replace", "path": %q, "value": %s}`, tc.path, tc.value))),
			}
			for kind, r := range requests {
				if r.Status != 400 || str(r.JSON(t), "scimType") != "invalidValue" {
					t.Errorf("%s %s, %s: %d %s, want 400 invalidValue", mode, kind, tc.reason, r.Status, r.Body)
				}
			}
			equal(t, mode+" "+tc.reason+": users named "+fresh, search(t, ep, filterQuery("Users", fmt.Sprintf("userName eq %q", fresh))).Total, 0)
		}
		equal(t, mode+": the seeded user after the refused PUTs and PATCHes", rawObject(t, storedUser(t, ep, uid).Spec), before)

		// "schemas" naming no schema of the resource type, and a PatchOp
		// without its URN, are malformed messages: invalidSyntax.
		for _, schemas := range []string{`[]`, `["urn:example:unknown"]`, fmt.Sprintf(`[%q]`, groupURN)} {
			body := quirkUserWith(t, "schemas@example.com", "schemas", schemas)
			expectError(t, ep.Do(t, "POST", "/Users", body), 400, "invalidSyntax")
			expectError(t, ep.Do(t, "PUT", "/Users/"+uid, body), 400, "invalidSyntax")
		}
		expectError(t, ep.Do(t, "PATCH", "/Users/"+uid, `{"Operations": [{"op": "replace", "path": "title", "value": "x"}]}`), 400, "invalidSyntax")
	}
}
