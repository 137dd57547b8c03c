package scimserver

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/patch"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// parseBody is what POST and PUT make of a body before the one API call.
func parseBody(t *testing.T, rt *schema.ResourceType, body string, q schema.Quirks) (map[string]any, error) {
	t.Helper()
	raw, e := decodeResource([]byte(body))
	if e != nil {
		t.Fatalf("test body %s: %v", body, e)
	}
	return normalize(rt, raw, q)
}

// parsePatch is what PATCH makes of a body applied to start: the resource
// without its members, and the membership changes.
func parsePatch(t *testing.T, rt *schema.ResourceType, start, body string, q schema.Quirks) (map[string]any, []patch.MemberOp, error) {
	t.Helper()
	res := map[string]any{}
	if err := json.Unmarshal([]byte(start), &res); err != nil {
		t.Fatal(err)
	}
	ops, err := patch.Decode([]byte(body), q)
	if err != nil {
		return nil, nil, err
	}
	members, rest, err := patch.SplitMembers(rt, ops, patch.Options{Quirks: q})
	if err != nil {
		return nil, nil, err
	}
	return res, members, patch.Apply(rt, res, rest, patch.Options{Quirks: q})
}

func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test JSON %s: %v", s, err)
	}
	return m
}

const (
	quirkUserStart = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
	                   "emails":[{"type":"work","value":"ada@example.com"}]}`
	patchPre = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	// oneLoginBlanks are the members OneLogin's SCIM v2 Enterprise template
	// renders for a user whose title, department, mobile number, address
	// and manager are not set: every parameter becomes "" and the
	// manager's "{$user.manager_firstname} {$user.manager_lastname}" " ".
	oneLoginBlanks = `,"name":{"givenName":"Ada","familyName":"Lovelace"},"title":"",
	  "emails":[{"value":"ada@example.com","type":"work","primary":true}],
	  "phoneNumbers":[{"value":"","type":"mobile"}],
	  "addresses":[{"locality":"","region":"","country":""}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"","manager":{"value":"","displayName":" "}}`
	// entraRoleJSON is a role value as Entra ID sends it without the
	// aadOptscim062020 flag: a JSON-encoded object, as a JSON string.
	entraRoleJSON = `"{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"payments-deployer\",\"displayName\":\"Payments deployer\"}"`
)

// TestQuirkCatalogue: each catalogued deviation, sent the way its IdP sends
// it, is read as the IdP meant with schema.Lenient and refused with
// schema.Strict, with the status and scimType a client sees.
func TestQuirkCatalogue(t *testing.T) {
	user := func(extra string) string {
		return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		         "userName":"ada"` + extra + `}`
	}
	cases := []struct {
		quirk, reason string
		rt            *schema.ResourceType // default User
		body          string               // a POST or PUT body, or
		patch         string               // PATCH operations applied to quirkUserStart (groupStart for Groups)
		want          string               // the lenient result (resource after the request)
		wantMembers   []patch.MemberOp
		strictType    string
		// strictWant, when set, is the Strict result of a request Strict
		// parses: the deviation is then refused by a later rule (an
		// undecoded role value names no catalog entry, see governRoles).
		strictWant string
	}{
		{quirk: "StringBooleans", reason: "POST body", body: user(`,"active":"False"`),
			want: user(`,"active":false`), strictType: scimInvalidValue},
		{quirk: "StringBooleans", reason: "PATCH path", patch: `{"op":"replace","path":"active","value":"FALSE"}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":false,
			        "emails":[{"type":"work","value":"ada@example.com"}]}`, strictType: scimInvalidValue},
		{quirk: "CapitalizedOps", reason: "Replace", patch: `{"op":"Replace","path":"title","value":"Lead"}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,"title":"Lead",
			        "emails":[{"type":"work","value":"ada@example.com"}]}`, strictType: scimInvalidSyntax},
		{quirk: "AttributePathKeys", reason: "dotted key", patch: `{"op":"replace","value":{"name.givenName":"Ada"}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,"name":{"givenName":"Ada"},
			        "emails":[{"type":"work","value":"ada@example.com"}]}`, strictType: scimInvalidValue},
		{quirk: "RemoveWithValue", reason: "members", rt: schema.GroupResourceType,
			patch:       `{"op":"remove","path":"members","value":[{"value":"u1"}]}`,
			want:        `{"id":"g1","displayName":"G"}`,
			wantMembers: []patch.MemberOp{{Kind: patch.MemberRemove, Values: []string{"u1"}}}, strictType: scimInvalidValue},
		{quirk: "RemoveWithValue", reason: "emails", patch: `{"op":"remove","path":"emails","value":[{"value":"ada@example.com"}]}`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true}`,
			strictType: scimInvalidValue},
		{quirk: "ManagerAsString", reason: "POST body", body: user(`,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1"}`),
			want: user(`,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}`), strictType: scimInvalidValue},
		{quirk: "ManagerAsString", reason: "PATCH path",
			patch: `{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id":"u1","userName":"ada","active":true,"emails":[{"type":"work","value":"ada@example.com"}],
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`, strictType: scimInvalidValue},
		{quirk: "FilteredPathCreates", reason: "home email", patch: `{"op":"add","path":"emails[type eq \"home\"].value","value":"h@example.com"}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "emails":[{"type":"work","value":"ada@example.com"},{"type":"home","value":"h@example.com"}]}`, strictType: scimNoTarget},
		{quirk: "ForeignSchemaURNs", reason: "Entra's group schema", rt: schema.GroupResourceType,
			body:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"G"}`,
			want:       `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"G"}`,
			strictType: scimInvalidSyntax},
		{quirk: "IgnoreUnknownAttributes", reason: "POST attribute", body: user(`,"favoriteColor":"teal"`), want: user(""), strictType: scimInvalidSyntax},
		{quirk: "IgnoreUnknownAttributes", reason: "POST sub-attribute", body: user(`,"name":{"givenName":"Ada","nick":"A"}`),
			want: user(`,"name":{"givenName":"Ada"}`), strictType: scimInvalidValue},
		{quirk: "IgnoreUnknownAttributes", reason: "PATCH no-path key", patch: `{"op":"replace","value":{"favoriteColor":"teal"}}`,
			want: quirkUserStart, strictType: scimInvalidValue},
		{quirk: "RolesAsJSONStrings", reason: "PATCH add to roles",
			patch: `{"op":"add","path":"roles","value":[{"value":` + entraRoleJSON + `}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "emails":[{"type":"work","value":"ada@example.com"}],"roles":[{"value":"payments-deployer","display":"Payments deployer"}]}`,
			strictWant: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "emails":[{"type":"work","value":"ada@example.com"}],"roles":[{"value":` + entraRoleJSON + `}]}`},
		{quirk: "RolesAsJSONStrings", reason: "PATCH replace of roles keeps a display sent beside it",
			patch: `{"op":"replace","path":"roles","value":[{"primary":true,"display":"Deployer","value":` + entraRoleJSON + `}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "emails":[{"type":"work","value":"ada@example.com"}],"roles":[{"value":"payments-deployer","display":"Deployer","primary":true}]}`,
			strictWant: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "emails":[{"type":"work","value":"ada@example.com"}],"roles":[{"value":` + entraRoleJSON + `,"display":"Deployer","primary":true}]}`},
		{quirk: "RolesAsJSONStrings", reason: "POST body", body: user(`,"roles":[{"value":` + entraRoleJSON + `}]`),
			want:       user(`,"roles":[{"value":"payments-deployer","display":"Payments deployer"}]`),
			strictWant: user(`,"roles":[{"value":` + entraRoleJSON + `}]`)},
		{quirk: "BlankSubAttributes", reason: "POST body rendered from a OneLogin template for a user with no phone, address or manager",
			body: user(oneLoginBlanks),
			want: user(`,"name":{"givenName":"Ada","familyName":"Lovelace"},"title":"","phoneNumbers":[],"addresses":[],
			             "emails":[{"value":"ada@example.com","type":"work","primary":true}],
			             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":""}`),
			strictWant: user(oneLoginBlanks)},
		{quirk: "BlankSubAttributes", reason: "an element without a value but no blank is kept",
			body:       user(`,"phoneNumbers":[{"type":"mobile"}]`),
			want:       user(`,"phoneNumbers":[{"type":"mobile"}]`),
			strictWant: user(`,"phoneNumbers":[{"type":"mobile"}]`)},
		{quirk: "BlankSubAttributes", reason: "PATCH replace of a list with a blank element",
			patch: `{"op":"replace","path":"emails","value":[{"value":"","type":"work","primary":true}]}`,
			want:  `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true}`,
			strictWant: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "emails":[{"value":"","type":"work","primary":true}]}`},
		{quirk: "BlankSubAttributes", reason: "PATCH of a singular value unassigns the blank sub-attribute and keeps the others",
			patch: `{"op":"add","path":"name","value":{"givenName":"Ada","familyName":" "}}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "name":{"givenName":"Ada"},"emails":[{"type":"work","value":"ada@example.com"}]}`,
			strictWant: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ada","active":true,
			        "name":{"givenName":"Ada","familyName":" "},"emails":[{"type":"work","value":"ada@example.com"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.quirk+"/"+tc.reason, func(t *testing.T) {
			rt, start := tc.rt, quirkUserStart
			if rt == nil {
				rt = schema.UserResourceType
			}
			if rt == schema.GroupResourceType {
				start = `{"id":"g1","displayName":"G"}`
			}
			run := func(q schema.Quirks) (map[string]any, []patch.MemberOp, error) {
				if tc.body != "" {
					res, err := parseBody(t, rt, tc.body, q)
					return res, nil, err
				}
				return parsePatch(t, rt, start, patchPre+tc.patch+`]}`, q)
			}
			got, members, err := run(schema.Lenient())
			if err != nil {
				t.Fatalf("Lenient: %v", err)
			}
			if diff := cmp.Diff(jsonMap(t, tc.want), roundTrip(t, got)); diff != "" {
				t.Errorf("Lenient: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantMembers, members); diff != "" {
				t.Errorf("Lenient members: -want +got:\n%s", diff)
			}
			got, _, err = run(schema.Strict())
			if tc.strictWant != "" {
				if err != nil {
					t.Fatalf("Strict: %v, want %s", err, tc.strictWant)
				}
				if diff := cmp.Diff(jsonMap(t, tc.strictWant), roundTrip(t, got)); diff != "" {
					t.Errorf("Strict: -want +got:\n%s", diff)
				}
				return
			}
			if e := translate(err); err == nil || e.Status != 400 || e.ScimType != tc.strictType {
				t.Errorf("Strict: %v, want 400 %s", err, tc.strictType)
			}
		})
	}
}

// roundTrip renders v as the client would read it back, so json.Number and
// float64 compare equal.
func roundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return jsonMap(t, string(data))
}

// TestSameAnswerForEveryRequestKind: a value of the wrong type that no IdP
// documents gets the same answer, 400 invalidValue, whether it comes in a
// POST or PUT body or a PATCH (with a path or without), in both modes.
func TestSameAnswerForEveryRequestKind(t *testing.T) {
	cases := []struct {
		reason string
		// key and value set one attribute; path is the same attribute
		// as a PATCH path.
		key, value, path string
	}{
		{"a number for a string", "title", `12`, "title"},
		{"a float for a string", "title", `1.5`, "title"},
		{"a boolean for a string", "title", `true`, "title"},
		{"a number for a sub-attribute", "name", `{"givenName":5}`, "name"},
		{`"1" for a boolean`, "active", `"1"`, "active"},
		{`"t" for a boolean`, "active", `"t"`, "active"},
		{`"yes" for a boolean`, "active", `"yes"`, "active"},
		{"a number for a boolean", "active", `1`, "active"},
		{"a string for a multi-valued complex attribute", "emails", `"a@example.com"`, "emails"},
		{"one object for a multi-valued complex attribute", "emails", `{"value":"a@example.com"}`, "emails"},
		{"a string element of a multi-valued complex attribute", "emails", `["a@example.com"]`, "emails"},
		{"a wrongly typed element sub-attribute", "emails", `[{"value":"a@example.com","primary":"yes"}]`, "emails"},
		{"a number for the manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
			`{"manager":5}`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		{"a number for an extension string", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
			`{"employeeNumber":1234}`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		{"an object for a string", "userName", `{"value":"ada"}`, "userName"},
	}
	for _, tc := range cases {
		for mode, q := range map[string]schema.Quirks{"Lenient": schema.Lenient(), "Strict": schema.Strict()} {
			t.Run(mode+"/"+tc.reason, func(t *testing.T) {
				body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				                      "userName":"ada",%q:%s}`, tc.key, tc.value)
				if tc.key == "userName" {
					body = fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%s}`, tc.value)
				}
				_, bodyErr := parseBody(t, schema.UserResourceType, body, q)
				_, _, pathErr := parsePatch(t, schema.UserResourceType, quirkUserStart,
					patchPre+fmt.Sprintf(`{"op":"replace","path":%q,"value":%s}]}`, tc.path, tc.value), q)
				_, _, noPathErr := parsePatch(t, schema.UserResourceType, quirkUserStart,
					patchPre+fmt.Sprintf(`{"op":"replace","value":{%q:%s}}]}`, tc.key, tc.value), q)
				for kind, err := range map[string]error{"POST/PUT": bodyErr, "PATCH path": pathErr, "PATCH no path": noPathErr} {
					if e := translate(err); err == nil || e.Status != 400 || e.ScimType != scimInvalidValue {
						t.Errorf("%s: %v, want 400 invalidValue", kind, err)
					}
				}
			})
		}
	}
}

// TestQuirksConstructors: Lenient accepts every catalogued deviation and
// Strict none, so a field added to the catalogue cannot be forgotten in
// either.
func TestQuirksConstructors(t *testing.T) {
	l, s := reflect.ValueOf(schema.Lenient()), reflect.ValueOf(schema.Strict())
	for i := range l.NumField() {
		name := l.Type().Field(i).Name
		if !l.Field(i).Bool() {
			t.Errorf("Lenient() leaves %s off", name)
		}
		if s.Field(i).Bool() {
			t.Errorf("Strict() turns %s on", name)
		}
	}
}

// TestSchemasNamingNoKnownSchema: a "schemas" that names no schema of the
// resource type, or is not an array of URIs, is refused in both modes with
// invalidSyntax; only Lenient accepts a missing one (SchemasOptional).
func TestSchemasNamingNoKnownSchema(t *testing.T) {
	for _, schemas := range []string{`"schemas":[],`, `"schemas":["urn:example:x"],`,
		`"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],`, `"schemas":"urn:ietf:params:scim:schemas:core:2.0:User",`,
		`"schemas":[5],`, `"schemas":[" urn:ietf:params:scim:schemas:core:2.0:User "],`} {
		for mode, q := range map[string]schema.Quirks{"Lenient": schema.Lenient(), "Strict": schema.Strict()} {
			_, err := parseBody(t, schema.UserResourceType, `{`+schemas+`"userName":"ada"}`, q)
			if e := translate(err); err == nil || e.Status != 400 || e.ScimType != scimInvalidSyntax {
				t.Errorf("%s, %s: %v, want 400 invalidSyntax", mode, schemas, err)
			}
		}
	}
	for _, schemas := range []string{``, `"schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`,
		`"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:core:2.0:User"],`} {
		body := `{` + schemas + `"userName":"ada"}`
		if _, err := parseBody(t, schema.UserResourceType, body, schema.Lenient()); err != nil {
			t.Errorf("Lenient, %s: %v, want accepted (SchemasOptional)", body, err)
		}
		_, err := parseBody(t, schema.UserResourceType, body, schema.Strict())
		if e := translate(err); err == nil || e.ScimType != scimInvalidSyntax {
			t.Errorf("Strict, %s: %v, want 400 invalidSyntax", body, err)
		}
	}
}

// TestBlankSubAttributesLeaveGrantsAlone: Lenient's BlankSubAttributes never
// touches members, roles or entitlements, whose elements name a resource or
// a grant, nor a top-level attribute such as userName: a blank one gets the
// same answer in both modes.
func TestBlankSubAttributesLeaveGrantsAlone(t *testing.T) {
	for mode, q := range map[string]schema.Quirks{"Lenient": schema.Lenient(), "Strict": schema.Strict()} {
		res, err := parseBody(t, schema.GroupResourceType, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":""}]}`, q)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if _, _, e := groupFromSCIM(res); e == nil || e.Status != 400 || e.ScimType != scimInvalidValue {
			t.Errorf("%s: a member with a blank value: %v, want 400 invalidValue", mode, e)
		}
		user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada","roles":[{"value":""}],"entitlements":[{"value":" ","type":"k8s"}]}`
		res, err = parseBody(t, schema.UserResourceType, user, q)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if diff := cmp.Diff(jsonMap(t, user), roundTrip(t, res)); diff != "" {
			t.Errorf("%s: roles and entitlements changed, -sent +read:\n%s", mode, diff)
		}
		res, err = parseBody(t, schema.UserResourceType, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":" "}`, q)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if _, e := userFromSCIM(res, true); e == nil || e.Status != 400 || e.ScimType != scimInvalidValue {
			t.Errorf("%s: a blank userName: %v, want 400 invalidValue", mode, e)
		}
	}
}

// TestOneLoginSCIM11TemplateRefused: OneLogin's SCIM 1.1 connectors send the
// "OneLogin Core User Schema" template, whose schemas names only
// urn:scim:schemas:core:1.0. This server speaks SCIM 2.0: both modes answer
// 400 invalidSyntax naming the URN the body must carry, which is what the
// OneLogin administrator sees (docs/compatibility.md, OneLogin).
func TestOneLoginSCIM11TemplateRefused(t *testing.T) {
	body := `{"schemas":["urn:scim:schemas:core:1.0"],"userName":"ada@example.com",
	          "name":{"givenName":"Ada","familyName":"Lovelace","formatted":"Ada Lovelace"}}`
	for _, tc := range []struct {
		mode   string
		q      schema.Quirks
		detail string
	}{
		{"Lenient", schema.Lenient(), "schemas must name urn:ietf:params:scim:schemas:core:2.0:User"},
		{"Strict", schema.Strict(), "schemas names a schema that is not urn:ietf:params:scim:schemas:core:2.0:User or one of its extensions"},
	} {
		_, err := parseBody(t, schema.UserResourceType, body, tc.q)
		e := translate(err)
		if err == nil || e.Status != 400 || e.ScimType != scimInvalidSyntax || e.Detail != tc.detail {
			t.Errorf("%s: %v, want 400 invalidSyntax: %s", tc.mode, err, tc.detail)
		}
	}
}
