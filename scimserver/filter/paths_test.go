package filter

import (
	"testing"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestValues(t *testing.T) {
	cases := []struct {
		reason  string
		res     string
		path    string
		want    []any
		wantErr error
	}{
		{reason: "a simple attribute", path: "userName", want: []any{"Barbara.Jensen@Example.com"}},
		{reason: "names are case-insensitive", path: "USERNAME", want: []any{"Barbara.Jensen@Example.com"}},
		{reason: "a sub-attribute", path: "name.givenName", want: []any{"Barbara"}},
		{reason: "a multi-valued attribute sorts by its primary value", path: "emails",
			want: []any{"bjensen@example.com"}},
		{reason: "a primary given as the string \"True\" counts", path: "roles", want: []any{"admin"}},
		{reason: "without a primary element every value is returned in order", path: "phoneNumbers",
			want: []any{"555-555-8377"}},
		{reason: "multi-valued sub-attributes are flattened", path: "emails.type", want: []any{"work", "home"}},
		{reason: "an extension sub-attribute with its URN",
			path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
			want: []any{"26118915-6090-4610-87e4-49d8ca9f808d"}},
		{reason: "an extension attribute without its URN", path: "department", want: []any{"Tour Operations"}},
		{reason: "a dateTime comes back as stored", path: "meta.lastModified", want: []any{"2011-05-13T04:42:34.5Z"}},
		{reason: "a boolean", path: "active", want: []any{true}},
		{reason: "an absent attribute has no values", path: "preferredLanguage", want: nil},
		{reason: "several elements without primary", res: `{"emails": [{"value": "b"}, {"value": null}, {"value": "a"}]}`,
			path: "emails", want: []any{"b", "a"}},
		{reason: "an unknown attribute is an error", path: "nosuch",
			wantErr: &scimerr.Error{ScimType: "invalidPath", Detail: `unknown attribute "nosuch"`}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			res := tc.res
			if res == "" {
				res = sampleUserJSON
			}
			got, err := Values(schema.UserResourceType, decode(t, res), tc.path)
			if diff := cmp.Diff(tc.wantErr, err); diff != "" {
				t.Fatalf("Values(%q) error: -want +got:\n%s", tc.path, diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Values(%q): -want +got:\n%s", tc.path, diff)
			}
		})
	}
}

func TestResolvePath(t *testing.T) {
	type resolved struct{ URN, Attr, Sub string }
	cases := []struct {
		reason  string
		path    string
		want    resolved
		wantErr error
	}{
		{reason: "a core attribute", path: "userName", want: resolved{schema.UserURN, "userName", ""}},
		{reason: "a common attribute", path: "meta.created", want: resolved{"", "meta", "created"}},
		{reason: "an extension attribute with its URN",
			path: schema.EnterpriseUserURN + ":manager.value", want: resolved{schema.EnterpriseUserURN, "manager", "value"}},
		{reason: "an extension attribute without its URN", path: "Manager.Value",
			want: resolved{schema.EnterpriseUserURN, "manager", "value"}},
		{reason: "a core attribute under the extension URN is unknown", path: schema.EnterpriseUserURN + ":userName",
			wantErr: scimErr("invalidPath", `unknown attribute "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName"`)},
		{reason: "an unknown attribute", path: "nosuch",
			wantErr: scimErr("invalidPath", `unknown attribute "nosuch"`)},
		{reason: "characters outside attribute names are not echoed", path: "a b<script>",
			wantErr: scimErr("invalidPath", "unknown attribute (name omitted)")},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			p, err := ResolvePath(schema.UserResourceType, tc.path)
			if diff := cmp.Diff(tc.wantErr, err); diff != "" {
				t.Fatalf("error: -want +got:\n%s", diff)
			}
			var got resolved
			if err == nil {
				got = resolved{URN: p.URN, Attr: p.Attr.Name}
				if p.Sub != nil {
					got.Sub = p.Sub.Name
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}
