package patch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// FuzzApply decodes and applies arbitrary bodies to a complete user and
// checks the invariants a client could observe: no panic, a result that still
// marshals, an untouched resource on error, an id that never changes, no
// stored password, at most one primary per attribute, and client-safe errors.
func FuzzApply(f *testing.F) {
	const pre = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	const ent = `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
	seeds := []string{
		// Okta.
		pre + `{"op":"replace","value":{"active":false}}]}`,
		pre + `{"op":"replace","value":{"active":true}}]}`,
		pre + `{"op":"replace","value":{"id":"g1","displayName":"Tour Leaders"}}]}`,
		pre + `{"op":"add","path":"members","value":[{"value":"u3","display":"Mandy"}]}]}`,
		pre + `{"op":"remove","path":"members[value eq \"u1\"]"}]}`,
		pre + `{"op":"replace","path":"members","value":[{"value":"u3"},{"value":"u4"}]}]}`,
		pre + `{"op":"replace","value":{"name":{"givenName":"Isaac"},"password":"secret","emails":[{"value":"a@b.c","primary":true}]}}]}`,
		// Entra ID.
		pre + `{"op":"Replace","path":"active","value":"False"}]}`,
		pre + `{"op":"Replace","value":{"name.givenName":"x","` + ent + `:department":"Sales","` + ent + `:manager":"m1"}}]}`,
		pre + `{"op":"Add","path":"` + ent + `:manager","value":{"value":"m1","$ref":"../Users/m1"}}]}`,
		pre + `{"op":"Remove","path":"` + ent + `:manager"}]}`,
		pre + `{"op":"Remove","path":"members","value":[{"value":"u1"}]}]}`,
		pre + `{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`,
		pre + `{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`,
		pre + `{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"Owner"}]}`,
		pre + `{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Seattle"},{"op":"Replace","path":"externalId","value":"e"}]}`,
		// OneLogin.
		pre + `{"op":"add","path":"members","value":[{"value":"u1"}]},{"op":"replace","path":"displayName","value":"H"}]}`,
		`{"Operations":[{"op":"replace","path":"title","value":"T"}]}`,
		// RFC forms.
		pre + `{"op":"add","path":"emails","value":[{"value":"x@b.c","type":"home","primary":true}]}]}`,
		pre + `{"op":"replace","path":"emails[type eq \"work\" and primary eq true].value","value":"n@b.c"}]}`,
		pre + `{"op":"remove","path":"emails[type eq \"home\"]"}]}`,
		pre + `{"op":"remove","path":"name.givenName"},{"op":"remove","path":"emails.display"}]}`,
		pre + `{"op":"add","path":"` + ent + `","value":{"division":"Retail"}}]}`,
		pre + `{"op":"remove","path":"` + ent + `"}]}`,
		pre + `{"op":"replace","value":{"` + ent + `":{"employeeNumber":"9"}}}]}`,
		// Hostile and malformed.
		pre + `{"op":"replace","path":"id","value":"other"}]}`,
		pre + `{"op":"replace","value":{"id":"other","meta":{"created":"x"},"groups":[{"value":"admins"}]}}]}`,
		pre + `{"op":"remove"}]}`,
		pre + `{"op":"replace","path":"active","value":"maybe"}]}`,
		pre + `{"op":"replace","path":"name","value":"x"}]}`,
		pre + `{"op":"remove","path":"` + strings.Repeat("(", 40) + `"}]}`,
		pre + `{"op":"remove","path":"emails[` + strings.Repeat("not (", 20) + `type eq \"x\"` + strings.Repeat(")", 20) + `]"}]}`,
		pre + `{"op":"add","path":"emails","value":[` + strings.Repeat(`{"value":"a@b.c","primary":true},`, 50) + `{}]}]}`,
		pre + `{"op":"add","path":"title","value":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`,
		`{"Operations":[{"op":"add","path":"emails[type eq \"work\"","value":"x"}]}`,
		`{"Operations":[{"op":"ADD","path":"EMAILS[TYPE EQ \"WORK\"].VALUE","value":"ü日本🙂"}]}`,
		`{"Operations":[]}`, `{}`, `null`, `[`, `{"Operations":[{"op":"add","value":null}]}`,
	}
	for i, s := range seeds {
		f.Add(s, i%2 == 1)
	}
	user := decode(f, sampleUserJSON)
	group := decode(f, sampleGroupJSON)
	f.Fuzz(func(t *testing.T, body string, strict bool) {
		ops, err := Decode([]byte(body), quirks(strict))
		if err != nil {
			checkSafeError(t, err)
			return
		}
		res := decode(t, sampleUserJSON)
		err = Apply(schema.UserResourceType, res, ops, Options{Quirks: quirks(strict)})
		if err != nil {
			checkSafeError(t, err)
			if diff := cmp.Diff(user, res); diff != "" {
				t.Fatalf("a failed request changed the resource:\n%s", diff)
			}
		} else {
			checkInvariants(t, res)
		}
		if _, _, err := SplitMembers(schema.GroupResourceType, ops, Options{Quirks: quirks(strict)}); err != nil {
			checkSafeError(t, err)
		}
		g := decode(t, sampleGroupJSON)
		if err := Apply(schema.GroupResourceType, g, ops, Options{Quirks: quirks(strict)}); err != nil {
			checkSafeError(t, err)
			if diff := cmp.Diff(group, g); diff != "" {
				t.Fatalf("a failed request changed the group:\n%s", diff)
			}
		}
	})
}

func checkInvariants(t *testing.T, res map[string]any) {
	t.Helper()
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	if _, id, _ := schema.Lookup(res, "id"); id != "2819c223-7f76-453a-919d-413861904646" {
		t.Fatalf("id changed")
	}
	if _, _, ok := schema.Lookup(res, "password"); ok {
		t.Fatalf("password stored")
	}
	for _, attr := range schema.User.Attributes {
		_, v, _ := schema.Lookup(res, attr.Name)
		list, _ := v.([]any)
		primaries := 0
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && m["primary"] == true {
				primaries++
			}
		}
		if primaries > 1 {
			t.Fatalf("%s has %d primary elements", attr.Name, primaries)
		}
	}
}

func checkSafeError(t *testing.T, err error) {
	t.Helper()
	var e *scimerr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is %T, want *scimerr.Error", err, err)
	}
	for _, leak := range []string{"json:", "parse conflict", "internal", "panic", ".go:", "cannot unmarshal"} {
		if strings.Contains(e.Detail, leak) {
			t.Fatalf("detail %q leaks %q", e.Detail, leak)
		}
	}
}
