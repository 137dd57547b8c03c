package attrselect

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

const userJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "u1",
  "externalId": "e1",
  "userName": "bjensen@example.com",
  "name": {"familyName": "Jensen", "givenName": "Barbara"},
  "displayName": "Babs Jensen",
  "active": true,
  "password": "t1meMa$heen",
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}
  ],
  "meta": {"resourceType": "User", "lastModified": "2011-05-13T04:42:34Z"},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "department": "Tour Operations",
    "manager": {"value": "m1", "displayName": "John Smith"}
  }
}`

const groupJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id": "g1",
  "displayName": "Tour Guides",
  "members": [{"value": "u1", "display": "Babs"}, {"value": "u2"}],
  "meta": {"resourceType": "Group"}
}`

const coreOnly = `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]`

func TestSelect(t *testing.T) {
	cases := []struct {
		reason     string
		rt         *schema.ResourceType
		res        string
		attributes []string
		excluded   []string
		want       string
	}{
		{reason: "by default everything but the password",
			want: `{
			  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
			              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			  "id": "u1", "externalId": "e1", "userName": "bjensen@example.com",
			  "name": {"familyName": "Jensen", "givenName": "Barbara"},
			  "displayName": "Babs Jensen", "active": true,
			  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
			             {"value": "babs@jensen.org", "type": "home"}],
			  "meta": {"resourceType": "User", "lastModified": "2011-05-13T04:42:34Z"},
			  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
			    "department": "Tour Operations", "manager": {"value": "m1", "displayName": "John Smith"}}}`},
		{reason: "Entra lists groups with excludedAttributes=members",
			rt: schema.GroupResourceType, res: groupJSON, excluded: []string{"members"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1",
			        "displayName": "Tour Guides", "meta": {"resourceType": "Group"}}`},
		{reason: "attributes keeps only the named ones plus id and schemas",
			attributes: []string{"userName"},
			want:       `{` + coreOnly + `, "id": "u1", "userName": "bjensen@example.com"}`},
		{reason: "attribute names are case-insensitive and come out canonical",
			attributes: []string{"USERNAME", "DisplayName"},
			want:       `{` + coreOnly + `, "id": "u1", "userName": "bjensen@example.com", "displayName": "Babs Jensen"}`},
		{reason: "a sub-attribute keeps only that sub-attribute",
			attributes: []string{"name.givenName"},
			want:       `{` + coreOnly + `, "id": "u1", "name": {"givenName": "Barbara"}}`},
		{reason: "a sub-attribute of a multi-valued attribute applies to every element",
			attributes: []string{"emails.value"},
			want: `{` + coreOnly + `, "id": "u1",
			        "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]}`},
		{reason: "URN-prefixed core attributes",
			attributes: []string{"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"},
			want:       `{` + coreOnly + `, "id": "u1", "name": {"familyName": "Jensen"}}`},
		{reason: "a URN-prefixed extension attribute keeps the extension with only that attribute",
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
			                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id": "u1",
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}}`},
		{reason: "the extension URN alone selects the whole extension",
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
			                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id": "u1",
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
			          "department": "Tour Operations", "manager": {"value": "m1", "displayName": "John Smith"}}}`},
		{reason: "an extension attribute named without its URN",
			attributes: []string{"department"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
			                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id": "u1",
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations"}}`},
		{reason: "excluding every extension attribute drops the extension and its URN",
			excluded: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "manager"},
			want: `{` + coreOnly + `, "id": "u1", "externalId": "e1", "userName": "bjensen@example.com",
			  "name": {"familyName": "Jensen", "givenName": "Barbara"},
			  "displayName": "Babs Jensen", "active": true,
			  "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
			             {"value": "babs@jensen.org", "type": "home"}],
			  "meta": {"resourceType": "User", "lastModified": "2011-05-13T04:42:34Z"}}`},
		{reason: "excluding the extension URN drops the whole extension",
			attributes: []string{"userName"},
			excluded:   []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			want:       `{` + coreOnly + `, "id": "u1", "userName": "bjensen@example.com"}`},
		{reason: "id cannot be excluded",
			attributes: []string{"userName"}, excluded: []string{"id", "userName"},
			want: `{` + coreOnly + `, "id": "u1"}`},
		{reason: "the password is never returned, even when asked for",
			attributes: []string{"password", "userName"},
			want:       `{` + coreOnly + `, "id": "u1", "userName": "bjensen@example.com"}`},
		{reason: "excluding a sub-attribute",
			attributes: []string{"emails"}, excluded: []string{"emails.primary", "Emails.Type"},
			want: `{` + coreOnly + `, "id": "u1",
			        "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]}`},
		{reason: "invalid names are ignored",
			attributes: []string{"nosuch", " userName ", "", "name.nosuch", "urn:example:Nope:x"},
			want:       `{` + coreOnly + `, "id": "u1", "userName": "bjensen@example.com"}`},
		{reason: "only invalid names behave as if the parameter were absent",
			rt: schema.GroupResourceType, res: groupJSON, attributes: []string{"nosuch"}, excluded: []string{"bogus"},
			want: groupJSON},
		{reason: "naming an absent attribute returns nothing for it",
			attributes: []string{"nickName", "addresses"},
			want:       `{` + coreOnly + `, "id": "u1"}`},
		{reason: "a Group with attributes=displayName",
			rt: schema.GroupResourceType, res: groupJSON, attributes: []string{"displayName"},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Tour Guides"}`},
		{reason: "keys in any case come out canonical",
			res: `{"SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:User"], "ID": "u1", "USERNAME": "a",
			       "NAME": {"GIVENNAME": "B"},
			       "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"DEPARTMENT": "D"}}`,
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
			                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			        "id": "u1", "userName": "a", "name": {"givenName": "B"},
			        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}}`},
		{reason: "an empty extension object is dropped along with its URN",
			res: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
			                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			       "id": "u1", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {}}`,
			want: `{` + coreOnly + `, "id": "u1"}`},
		{reason: "a resource without schemas gets the core schema",
			res:  `{"id": "u1", "userName": "a"}`,
			want: `{` + coreOnly + `, "id": "u1", "userName": "a"}`},
		{reason: "keys outside the schema are kept by default",
			res:  `{` + coreOnly + `, "id": "u1", "x-internal": 1}`,
			want: `{` + coreOnly + `, "id": "u1", "x-internal": 1}`},
		{reason: "keys outside the schema are dropped with attributes",
			res: `{` + coreOnly + `, "id": "u1", "x-internal": 1}`, attributes: []string{"id"},
			want: `{` + coreOnly + `, "id": "u1"}`},
		{reason: "null values and elements that end up empty are dropped",
			res:        `{` + coreOnly + `, "id": "u1", "title": null, "emails": [{"type": "work"}, {"value": "a@b.c"}]}`,
			attributes: []string{"emails.value", "title"},
			want:       `{` + coreOnly + `, "id": "u1", "emails": [{"value": "a@b.c"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			rt, res := tc.rt, tc.res
			if rt == nil {
				rt = schema.UserResourceType
			}
			if res == "" {
				res = userJSON
			}
			got := Select(rt, decode(t, res), tc.attributes, tc.excluded)
			if diff := cmp.Diff(decode(t, tc.want), got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestSelectReturnedRequest(t *testing.T) {
	rt := &schema.ResourceType{Name: "Thing", Schema: &schema.Schema{ID: "urn:example:Thing",
		Attributes: []*schema.Attribute{
			{Name: "plain", Type: schema.String, Returned: schema.ReturnedDefault},
			{Name: "secret", Type: schema.String, Returned: schema.ReturnedRequest},
			{Name: "box", Type: schema.Complex, Returned: schema.ReturnedDefault, SubAttributes: []*schema.Attribute{
				{Name: "open", Type: schema.String, Returned: schema.ReturnedDefault},
				{Name: "hidden", Type: schema.String, Returned: schema.ReturnedRequest},
			}},
		}}}
	res := `{"schemas": ["urn:example:Thing"], "plain": "p", "secret": "s", "box": {"open": "o", "hidden": "h"}}`
	cases := []struct {
		reason     string
		attributes []string
		want       string
	}{
		{reason: "request attributes are left out by default",
			want: `{"schemas": ["urn:example:Thing"], "plain": "p", "box": {"open": "o"}}`},
		{reason: "request attributes appear when named",
			attributes: []string{"secret", "box.hidden"},
			want:       `{"schemas": ["urn:example:Thing"], "secret": "s", "box": {"hidden": "h"}}`},
		{reason: "naming the parent requests all its sub-attributes",
			attributes: []string{"box"},
			want:       `{"schemas": ["urn:example:Thing"], "box": {"open": "o", "hidden": "h"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got := Select(rt, decode(t, res), tc.attributes, nil)
			if diff := cmp.Diff(decode(t, tc.want), got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestSelectDoesNotTouchInput(t *testing.T) {
	res := decode(t, userJSON)
	got := Select(schema.UserResourceType, res, nil, []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"})
	got["emails"].([]any)[0].(map[string]any)["value"] = "changed"
	got["schemas"].([]any)[0] = "changed"
	if diff := cmp.Diff(decode(t, userJSON), res); diff != "" {
		t.Errorf("input changed: -want +got:\n%s", diff)
	}
}

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decoding test JSON: %v", err)
	}
	return m
}
