package scimserver

import (
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/patch"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestSendsRoles(t *testing.T) {
	for body, want := range map[string]bool{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`:                               false,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"roles","value":[{"value":"a"}]}]}`:                true,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"roles[value eq \"a\"]"}]}`:                         true,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"a"}]}`: true,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true,"Roles":[]}}]}`:                    true,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"rolesExtra","value":"x"}]}`:                       false,
	} {
		ops, err := patch.Decode([]byte(body), schema.Lenient())
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := sendsRoles(ops); got != want {
			t.Errorf("%s: sendsRoles %v, want %v", body, got, want)
		}
	}
}
