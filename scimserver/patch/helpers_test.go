package patch

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// applyCase is one PATCH request applied to a resource. Bodies are literal
// request bodies as the IdPs send them.
type applyCase struct {
	reason string
	// rt defaults to the User resource type.
	rt     *schema.ResourceType
	start  string
	body   string
	strict bool
	// want is the resource after the request; ignored when wantErr is set.
	want    string
	wantErr error
}

func runApplyCases(t *testing.T, cases []applyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			rt := tc.rt
			if rt == nil {
				rt = schema.UserResourceType
			}
			res := decode(t, tc.start)
			before := decode(t, tc.start)
			ops, err := Decode([]byte(tc.body), quirks(tc.strict))
			if err == nil {
				err = Apply(rt, res, ops, Options{Quirks: quirks(tc.strict)})
			}
			if diff := cmp.Diff(tc.wantErr, err); diff != "" {
				t.Fatalf("error: -want +got:\n%s", diff)
			}
			want := before // a failed request leaves the resource untouched
			if tc.wantErr == nil {
				want = decode(t, tc.want)
			}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("resource: -want +got:\n%s", diff)
			}
		})
	}
}

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decoding test JSON %q: %v", s, err)
	}
	return m
}

// sampleUserJSON is a complete user as Okta or Entra ID would have created it.
const sampleUserJSON = `{
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
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984",
    "department": "Tour Operations",
    "manager": {"value": "26118915", "$ref": "../Users/26118915", "displayName": "John Smith"}
  }
}`

// minimalUserJSON is a user with core attributes only.
const minimalUserJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "id": "u1",
  "userName": "isaac@example.com",
  "active": true
}`

const sampleGroupJSON = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id": "g1",
  "displayName": "Tour Guides",
  "members": [{"value": "u1"}, {"value": "u2"}]
}`

// quirks is the catalogue of the endpoint mode a case runs in.
func quirks(strict bool) schema.Quirks {
	if strict {
		return schema.Strict()
	}
	return schema.Lenient()
}

// scimErr is the error a test expects.
func scimErr(scimType, detail string) *scimerr.Error {
	return &scimerr.Error{ScimType: scimType, Detail: detail}
}
