package filter

import (
	"encoding/json"
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// sampleUserJSON is a complete user as Okta or Entra ID would have created it.
const sampleUserJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "00u1abcdEFGH",
  "userName": "Barbara.Jensen@Example.com",
  "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
  "displayName": "Babs \"B\" Jensen",
  "nickName": "",
  "title": "Tour Guide",
  "userType": "Employee",
  "locale": "en-US",
  "active": true,
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}
  ],
  "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
  "roles": [{"value": "admin", "primary": "True"}, {"value": "guest"}],
  "groups": [],
  "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z",
           "lastModified": "2011-05-13T04:42:34.5Z", "version": "W/\"3694e05e9dff591\""},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984",
    "department": "Tour Operations",
    "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
  }
}`

const sampleGroupJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
  "displayName": "Tour Guides",
  "members": [
    {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen"},
    {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
  ]
}`

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decoding test JSON: %v", err)
	}
	return m
}

// numbersType is a resource type with the attribute types the standard
// schemas lack, to exercise number and binary comparisons.
func numbersType() *schema.ResourceType {
	return &schema.ResourceType{Name: "Thing", Endpoint: "/Things", Schema: &schema.Schema{
		ID: "urn:example:Thing",
		Attributes: []*schema.Attribute{
			{Name: "age", Type: schema.Integer},
			{Name: "score", Type: schema.Decimal},
			{Name: "photo", Type: schema.Binary},
			{Name: "tags", Type: schema.String, MultiValued: true},
		},
	}}
}

// scimErr is the error a test expects.
func scimErr(scimType, detail string) *scimerr.Error {
	return &scimerr.Error{ScimType: scimType, Detail: detail}
}
