package patch

import (
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// TestApplyOkta covers the PATCH requests Okta sends (docs/compatibility.md).
func TestApplyOkta(t *testing.T) {
	runApplyCases(t, []applyCase{
		{
			reason: "deactivation is a no-path replace of active",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"active":false}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
			        "userName":"isaac@example.com","active":false}`,
		},
		{
			reason: "reactivation",
			start:  `{"id":"u1","userName":"isaac@example.com","active":false}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"active":true}}]}`,
			want: `{"id":"u1","userName":"isaac@example.com","active":true}`,
		},
		{
			reason: "deactivation in strict mode too",
			start:  minimalUserJSON,
			strict: true,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"active":false}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
			        "userName":"isaac@example.com","active":false}`,
		},
		{
			reason: "group rename carries the read-only id, which is ignored",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"id":"g1","displayName":"Tour Leaders"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1",
			        "displayName":"Tour Leaders","members":[{"value":"u1"},{"value":"u2"}]}`,
		},
		{
			reason: "a different id in a no-path value is ignored in strict mode as well",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			strict: true,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"id":"hijack","displayName":"Tour Leaders"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1",
			        "displayName":"Tour Leaders","members":[{"value":"u1"},{"value":"u2"}]}`,
		},
		{
			reason: "add members with a value array; display is read-only and an existing member is not duplicated",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"add","path":"members",
			          "value":[{"value":"u3","display":"Mandy Pepperidge"},{"value":"u1","display":"Babs"}]}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1",
			        "displayName":"Tour Guides","members":[{"value":"u1"},{"value":"u2"},{"value":"u3"}]}`,
		},
		{
			reason: "adding a member already present with another display does not duplicate it",
			rt:     schema.GroupResourceType,
			start:  `{"id":"g1","displayName":"G","members":[{"value":"u1","display":"Babs"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"add","path":"members","value":[{"value":"u1","$ref":"../Users/u1"},{"value":"u2"}]}]}`,
			want: `{"id":"g1","displayName":"G","members":[{"value":"u1","display":"Babs"},{"value":"u2"}]}`,
		},
		{
			reason: "add members to a group created with members:[]",
			rt:     schema.GroupResourceType,
			start:  `{"id":"g1","displayName":"Tour Guides","members":[]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"add","path":"members","value":[{"value":"u1","display":"Babs"}]}]}`,
			want: `{"id":"g1","displayName":"Tour Guides","members":[{"value":"u1"}]}`,
		},
		{
			reason: "remove one member with a filter and no value",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1",
			        "displayName":"Tour Guides","members":[{"value":"u2"}]}`,
		},
		{
			reason: "removing a member that is not there is a no-op",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"remove","path":"members[value eq \"nobody\"]"}]}`,
			want: sampleGroupJSON,
		},
		{
			reason: "removing the last member leaves no members attribute",
			rt:     schema.GroupResourceType,
			start:  `{"id":"g1","displayName":"G","members":[{"value":"u1"}]}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}]}`,
			want: `{"id":"g1","displayName":"G"}`,
		},
		{
			reason: "replace all members",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","path":"members","value":[{"value":"u3"},{"value":"u4"}]}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1",
			        "displayName":"Tour Guides","members":[{"value":"u3"},{"value":"u4"}]}`,
		},
		{
			reason: "replace members with an empty array empties the group",
			rt:     schema.GroupResourceType,
			start:  sampleGroupJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","path":"members","value":[]}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Tour Guides"}`,
		},
		{
			reason: "a profile update replacing several attributes at once, password dropped",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{
			          "name":{"givenName":"Isaac","familyName":"Brock"},
			          "emails":[{"primary":true,"value":"isaac@example.org","type":"work"}],
			          "displayName":"Isaac Brock","password":"t1meMa$heen"}}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
			        "userName":"isaac@example.com","active":true,
			        "name":{"givenName":"Isaac","familyName":"Brock"},
			        "emails":[{"primary":true,"value":"isaac@example.org","type":"work"}],
			        "displayName":"Isaac Brock"}`,
		},
		{
			reason: "a password path is accepted and dropped",
			start:  minimalUserJSON,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","path":"password","value":"t1meMa$heen"}]}`,
			want: minimalUserJSON,
		},
		{
			reason: "a password already stored is dropped by any patch",
			start:  `{"id":"u1","userName":"a","Password":"old"}`,
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"active":true}}]}`,
			want: `{"id":"u1","userName":"a","active":true}`,
		},
	})
}
