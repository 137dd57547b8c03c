package patch

import (
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// TestApplyEntra covers the PATCH requests Microsoft Entra ID sends
// (docs/compatibility.md), all accepted in the default, lenient mode.
func TestApplyEntra(t *testing.T) {
	runApplyCases(t, []applyCase{
		{
			reason: "soft delete: capitalised op and a boolean as the string \"False\"",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
			        "userName":"isaac@example.com","active":false}`,
		},
		{
			reason: "string booleans in any case",
			start:  `{"id":"u1","userName":"a","active":false}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Replace","path":"active","value":"tRuE"}]}`,
			want: `{"id":"u1","userName":"a","active":true}`,
		},
		{
			reason: "no-path replace with dotted keys and full URN keys",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Replace","value":{
			          "displayName":"Isaac Brock",
			          "name.givenName":"Isaac",
			          "name.familyName":"Brock",
			          "active":"True",
			          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Sales",
			          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"m-42"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
			                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id":"u1","userName":"isaac@example.com","active":true,
			        "displayName":"Isaac Brock","name":{"givenName":"Isaac","familyName":"Brock"},
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{
			          "department":"Sales","manager":{"value":"m-42"}}}`,
		},
		{
			reason: "manager as a plain string on its URN path replaces the old manager entirely",
			start:  sampleUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
			          "value":"m-42"}]}`,
			want: userWithExtension(`{"employeeNumber":"701984","department":"Tour Operations",
			        "manager":{"value":"m-42"}}`),
		},
		{
			reason: "manager as an object with value and $ref",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
			          "value":{"value":"m-42","$ref":"../Users/m-42"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
			                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id":"u1","userName":"isaac@example.com","active":true,
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{
			          "manager":{"value":"m-42","$ref":"../Users/m-42"}}}`,
		},
		{
			reason: "manager.value on its own",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
			          "value":"m-42"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
			                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id":"u1","userName":"isaac@example.com","active":true,
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m-42"}}}`,
		},
		{
			reason: "removing the manager",
			start:  sampleUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]}`,
			want: userWithExtension(`{"employeeNumber":"701984","department":"Tour Operations"}`),
		},
		{
			reason: "removing the last extension attribute drops the extension and its schema URN",
			start: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
			                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			         "id":"u1","userName":"a",
			         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"a"}`,
		},
		{
			reason: "member removal with path members and a value lists the members to remove",
			rt:     schema.GroupResourceType,
			start:  `{"id":"g1","displayName":"G","members":[{"value":"u1"},{"value":"u2"},{"value":"u3"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Remove","path":"members","value":[{"value":"u1"},{"value":"u3"}]}]}`,
			want: `{"id":"g1","displayName":"G","members":[{"value":"u2"}]}`,
		},
		{
			reason: "member add with \"$ref\": null",
			rt:     schema.GroupResourceType,
			start:  `{"id":"g1","displayName":"G"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`,
			want: `{"id":"g1","displayName":"G","members":[{"value":"u1"}]}`,
		},
		{
			reason: "add on a filtered path whose element does not exist creates it",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
			        "userName":"isaac@example.com","active":true,
			        "emails":[{"type":"work","value":"a@b.c"}]}`,
		},
		{
			reason: "add on a filtered path whose element exists sets only its sub-attribute",
			start: `{"id":"u1","userName":"a","emails":[
			          {"type":"home","value":"h@b.c"},{"type":"work","value":"old@b.c","primary":true}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"new@b.c"}]}`,
			want: `{"id":"u1","userName":"a","emails":[
			          {"type":"home","value":"h@b.c"},{"type":"work","value":"new@b.c","primary":true}]}`,
		},
		{
			reason: "replace on a filtered path with the element missing creates it too",
			start:  `{"id":"u1","userName":"a","phoneNumbers":[{"type":"work","value":"1"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"2"}]}`,
			want: `{"id":"u1","userName":"a","phoneNumbers":[{"type":"work","value":"1"},{"type":"mobile","value":"2"}]}`,
		},
		{
			reason: "roles with a string boolean in the filter and the element missing",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"roles[primary eq \"True\"].value","value":"Admin"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
			        "userName":"isaac@example.com","active":true,
			        "roles":[{"primary":true,"value":"Admin"}]}`,
		},
		{
			reason: "roles with a string boolean in the filter matching a stored element",
			start:  `{"id":"u1","userName":"a","roles":[{"value":"User"},{"value":"Admin","primary":true}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"Owner"}]}`,
			want: `{"id":"u1","userName":"a","roles":[{"value":"User"},{"value":"Owner","primary":true}]}`,
		},
		{
			reason: "a filtered remove of a sub-attribute",
			start:  `{"id":"u1","userName":"a","emails":[{"type":"work","value":"w@b.c","display":"W"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Remove","path":"emails[type eq \"work\"].display"}]}`,
			want: `{"id":"u1","userName":"a","emails":[{"type":"work","value":"w@b.c"}]}`,
		},
		{
			reason: "a typical Entra user update: several operations in one request",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[
			          {"op":"Add","path":"displayName","value":"Isaac Brock"},
			          {"op":"Add","path":"title","value":"Engineer"},
			          {"op":"Add","path":"emails[type eq \"work\"].value","value":"isaac@example.com"},
			          {"op":"Add","path":"name.givenName","value":"Isaac"},
			          {"op":"Add","path":"name.familyName","value":"Brock"},
			          {"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Seattle"},
			          {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"1234"},
			          {"op":"Replace","path":"externalId","value":"isaac"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
			                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id":"u1","userName":"isaac@example.com","active":true,
			        "displayName":"Isaac Brock","title":"Engineer","externalId":"isaac",
			        "emails":[{"type":"work","value":"isaac@example.com"}],
			        "name":{"givenName":"Isaac","familyName":"Brock"},
			        "addresses":[{"type":"work","locality":"Seattle"}],
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"1234"}}`,
		},
	})
}

// userWithExtension is sampleUserJSON with its enterprise extension object
// replaced by ext.
func userWithExtension(ext string) string {
	return `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "00u1abcd",
  "userName": "bjensen@example.com",
  "name": {"familyName": "Jensen", "givenName": "Barbara"},
  "displayName": "Babs Jensen",
  "title": "Tour Guide",
  "locale": "en-US",
  "active": true,
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}
  ],
  "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
  "roles": [{"value": "admin", "primary": true}],
  "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
           "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3694e05e9dff591\""},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ` + ext + `
}`
}
