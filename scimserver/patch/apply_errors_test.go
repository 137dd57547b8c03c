package patch

import (
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// TestApplyErrors checks that bad requests fail with the RFC's scimType, a
// detail that names the operation and attribute without echoing values, and
// leave the resource untouched.
func TestApplyErrors(t *testing.T) {
	const pre = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	start := `{"id":"u1","userName":"a","title":"T"}`
	runApplyCases(t, []applyCase{
		{reason: "remove without path is noTarget", start: start,
			body:    pre + `{"op":"remove"}]}`,
			wantErr: scimErr("noTarget", "Operations[0]: remove needs a path")},
		{reason: "an unknown attribute in a path is invalidPath", start: start,
			body:    pre + `{"op":"replace","path":"favoriteColor","value":"x"}]}`,
			wantErr: scimErr("invalidPath", `Operations[0]: unknown attribute "favoriteColor"`)},
		{reason: "an unknown sub-attribute after a filter is invalidPath", start: start,
			body:    pre + `{"op":"replace","path":"emails[type eq \"work\"].nosuch","value":"x"}]}`,
			wantErr: scimErr("invalidPath", `Operations[0]: unknown sub-attribute "nosuch" of "emails"`)},
		{reason: "a malformed filter is invalidFilter", start: start,
			body:    pre + `{"op":"remove","path":"emails[type eq]"}]}`,
			wantErr: scimErr("invalidFilter", "Operations[0]: filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2, §3.5.2)")},
		{reason: "a path to id is mutability", start: start,
			body:    pre + `{"op":"replace","path":"id","value":"other"}]}`,
			wantErr: scimErr("mutability", `Operations[0]: attribute "id": is read-only`)},
		{reason: "a path into meta is mutability", start: start,
			body:    pre + `{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}]}`,
			wantErr: scimErr("mutability", `Operations[0]: attribute "meta.lastModified": is read-only`)},
		{reason: "groups on a User is read-only", start: start,
			body:    pre + `{"op":"add","path":"groups","value":[{"value":"g1"}]}]}`,
			wantErr: scimErr("mutability", `Operations[0]: attribute "groups": is read-only`)},
		{reason: "removing groups is mutability too", start: start,
			body:    pre + `{"op":"remove","path":"groups"}]}`,
			wantErr: scimErr("mutability", `Operations[0]: attribute "groups": is read-only`)},
		{reason: "a read-only sub-attribute", start: start,
			body:    pre + `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName","value":"x"}]}`,
			wantErr: scimErr("mutability", `Operations[0]: attribute "manager.displayName": is read-only`)},
		{reason: "replacing an immutable member value", rt: schema.GroupResourceType,
			start:   `{"id":"g1","displayName":"G","members":[{"value":"u1"}]}`,
			body:    pre + `{"op":"replace","path":"members[value eq \"u1\"].value","value":"u2"}]}`,
			wantErr: scimErr("mutability", `Operations[0]: attribute "members.value": is immutable; replace the whole element instead`)},
		{reason: "a string for a complex attribute is invalidValue", start: start,
			body:    pre + `{"op":"replace","path":"name","value":"Barbara Jensen"}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "name": expected an object`)},
		{reason: "maybe is not a boolean", start: start,
			body:    pre + `{"op":"replace","path":"active","value":"maybe"}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "active": expected a boolean`)},
		{reason: "a number is not a boolean", start: start,
			body:    pre + `{"op":"replace","value":{"active":0}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "active": expected a boolean`)},
		{reason: "an object is not a string", start: start,
			body:    pre + `{"op":"replace","path":"title","value":{"a":1}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "title": expected a string`)},
		{reason: "a string element in a multi-valued complex attribute", start: start,
			body:    pre + `{"op":"add","path":"emails","value":["a@b.c"]}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "emails": expected an object`)},
		{reason: "a wrong-typed sub-attribute", start: start,
			body:    pre + `{"op":"add","path":"emails","value":[{"value":"a@b.c","primary":"yes"}]}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "primary": expected a boolean`)},
		{reason: "a no-path add needs an object", start: start,
			body:    pre + `{"op":"add","value":"x"}]}`,
			wantErr: scimErr("invalidValue", "Operations[0]: add without path needs an object value")},
		{reason: "add without value", start: start,
			body:    pre + `{"op":"add","path":"title"}]}`,
			wantErr: scimErr("invalidValue", "Operations[0]: add needs a value")},
		{reason: "removing a required attribute", start: start,
			body:    pre + `{"op":"remove","path":"userName"}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "userName": is required and cannot be removed`)},
		{reason: "replacing a required attribute with null", rt: schema.GroupResourceType,
			start:   `{"id":"g1","displayName":"G"}`,
			body:    pre + `{"op":"replace","value":{"displayName":null}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "displayName": is required and cannot be removed`)},
		{reason: "a non-object extension value", start: start,
			body:    pre + `{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: schema extension "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": expected an object`)},
		{reason: "an error in a later operation rolls back the earlier ones", start: start,
			body:    pre + `{"op":"replace","path":"title","value":"New"},{"op":"replace","path":"active","value":"maybe"}]}`,
			wantErr: scimErr("invalidValue", `Operations[1]: attribute "active": expected a boolean`)},
		{reason: "an invalid dateTime", rt: dateType(), start: `{"id":"x"}`,
			body:    pre + `{"op":"replace","path":"when","value":"tomorrow"}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "when": expected an RFC 3339 timestamp`)},
		{reason: "a fraction for an integer", rt: dateType(), start: `{"id":"x"}`,
			body:    pre + `{"op":"replace","path":"count","value":1.5}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "count": expected a number`)},
	})
}

// TestApplyStrict checks that schema.Strict turns the IdP deviations into
// errors while RFC requests still work.
func TestApplyStrict(t *testing.T) {
	const pre = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	start := `{"id":"u1","userName":"a","emails":[{"type":"home","value":"h@b.c"}]}`
	runApplyCases(t, []applyCase{
		{reason: "string booleans", start: start, strict: true,
			body:    pre + `{"op":"replace","path":"active","value":"False"}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "active": expected a boolean`)},
		{reason: "dotted keys in a no-path value", start: start, strict: true,
			body:    pre + `{"op":"replace","value":{"name.givenName":"x"}}]}`,
			wantErr: scimErr("invalidValue", "Operations[0]: replace without path: value keys must be attribute names")},
		{reason: "URN-prefixed keys in a no-path value", start: start, strict: true,
			body:    pre + `{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"x"}}]}`,
			wantErr: scimErr("invalidValue", "Operations[0]: replace without path: value keys must be attribute names")},
		{reason: "manager as a plain string", start: start, strict: true,
			body:    pre + `{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "manager": expected an object`)},
		{reason: "a filtered add that matches nothing", start: start, strict: true,
			body:    pre + `{"op":"add","path":"emails[type eq \"work\"].value","value":"w@b.c"}]}`,
			wantErr: scimErr("noTarget", `Operations[0]: attribute "emails.value": the filter matches no element`)},
		{reason: "a filtered replace that matches nothing", start: start, strict: true,
			body:    pre + `{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"w@b.c"}}]}`,
			wantErr: scimErr("noTarget", `Operations[0]: attribute "emails": the filter matches no element`)},
		{reason: "a filtered remove that matches nothing is still a no-op", start: start, strict: true,
			body: pre + `{"op":"remove","path":"emails[type eq \"work\"]"}]}`,
			want: start},
		{reason: "unknown keys in a no-path value", start: start, strict: true,
			body:    pre + `{"op":"replace","value":{"favoriteColor":"x"}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: replace without path: value names unknown attribute "favoriteColor"`)},
		{reason: "unknown keys are not echoed when they do not look like names", start: start, strict: true,
			body:    pre + `{"op":"replace","value":{"jane doe@example":"x"}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: replace without path: value names unknown attribute (name omitted)`)},
		{reason: "unknown sub-attributes", start: start, strict: true,
			body:    pre + `{"op":"replace","path":"name","value":{"nick":"x"}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "name": value has an unknown sub-attribute`)},
		{reason: "a single object for a multi-valued attribute", start: start, strict: true,
			body:    pre + `{"op":"add","path":"emails","value":{"value":"a@b.c"}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "emails": expected an array`)},
		{reason: "a number for a string", start: start, strict: true,
			body:    pre + `{"op":"replace","path":"title","value":12}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "title": expected a string`)},
		{reason: "an RFC filtered replace that matches works", start: start, strict: true,
			body: pre + `{"op":"replace","path":"emails[type eq \"home\"].value","value":"n@b.c"}]}`,
			want: `{"id":"u1","userName":"a","emails":[{"type":"home","value":"n@b.c"}]}`},
		{reason: "the RFC form of a manager", start: start, strict: true,
			body: pre + `{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m1"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id":"u1","userName":"a","emails":[{"type":"home","value":"h@b.c"}],
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`},
	})
}

// dateType is a resource type with dateTime and integer attributes, which the
// standard schemas only have read-only.
func dateType() *schema.ResourceType {
	return &schema.ResourceType{Name: "Thing", Schema: &schema.Schema{ID: "urn:example:Thing",
		Attributes: []*schema.Attribute{
			{Name: "when", Type: schema.DateTime, Mutability: schema.ReadWrite},
			{Name: "count", Type: schema.Integer, Mutability: schema.ReadWrite},
		}}}
}
