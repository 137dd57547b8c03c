package patch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		reason  string
		body    string
		strict  bool
		want    []Operation
		wantErr error
	}{
		{reason: "Okta's deactivation",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","value":{"active":false}}]}`,
			want: []Operation{{Op: "replace", Value: json.RawMessage(`{"active":false}`)}}},
		{reason: "Entra's capitalised ops are lower-cased",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"Add","path":"title","value":"x"},{"op":"Remove","path":"title"},
			                      {"op":"REPLACE","path":"title","value":"y"}]}`,
			want: []Operation{{Op: "add", Path: "title", Value: json.RawMessage(`"x"`)},
				{Op: "remove", Path: "title"}, {Op: "replace", Path: "title", Value: json.RawMessage(`"y"`)}}},
		{reason: "an explicit null value is kept apart from a missing one",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","path":"title","value":null}]}`,
			want: []Operation{{Op: "replace", Path: "title", Value: json.RawMessage(`null`)}}},
		{reason: "a null path is no path, and blanks around the path are trimmed",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "Operations":[{"op":"replace","path":null,"value":{}},{"op":"remove","path":" title "}]}`,
			want: []Operation{{Op: "replace", Value: json.RawMessage(`{}`)}, {Op: "remove", Path: "title"}}},
		{reason: "member names in any case",
			body: `{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			        "operations":[{"OP":"add","PATH":"title","VALUE":"x"}]}`,
			strict: true,
			want:   []Operation{{Op: "add", Path: "title", Value: json.RawMessage(`"x"`)}}},
		{reason: "a missing schemas is an error when lenient too: no IdP is documented to omit it",
			body:    `{"Operations":[{"op":"remove","path":"title"}]}`,
			wantErr: scimErr("invalidSyntax", `schemas must contain "urn:ietf:params:scim:api:messages:2.0:PatchOp"`)},
		{reason: "a capitalised op is an error when strict",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"title","value":"x"}]}`,
			strict:  true,
			wantErr: scimErr("invalidSyntax", "Operations[0]: op must be add, remove or replace")},
		{reason: "a missing schemas is an error when strict",
			body: `{"Operations":[{"op":"remove","path":"title"}]}`, strict: true,
			wantErr: scimErr("invalidSyntax", `schemas must contain "urn:ietf:params:scim:api:messages:2.0:PatchOp"`)},
		{reason: "a wrong schemas is an error when strict",
			body:    `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"title"}]}`,
			strict:  true,
			wantErr: scimErr("invalidSyntax", `schemas must contain "urn:ietf:params:scim:api:messages:2.0:PatchOp"`)},
		{reason: "no operations",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`,
			wantErr: scimErr("invalidSyntax", "Operations must be a non-empty array")},
		{reason: "missing operations",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`,
			wantErr: scimErr("invalidSyntax", "Operations must be a non-empty array")},
		{reason: "operations not an array",
			body:    `{"Operations":{"op":"add"}}`,
			wantErr: scimErr("invalidSyntax", "the body is not a valid PatchOp JSON object")},
		{reason: "too many operations",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Repeat(`{"op":"remove","path":"title"},`, 1000) + `{"op":"remove","path":"title"}]}`,
			wantErr: scimErr("invalidSyntax", "a request may carry at most 1000 operations")},
		{reason: "an unknown op",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title"}]}`,
			wantErr: scimErr("invalidSyntax", "Operations[0]: op must be add, remove or replace")},
		{reason: "a missing op",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"path":"title"}]}`,
			wantErr: scimErr("invalidSyntax", "Operations[0] has no op")},
		{reason: "a non-string path",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":5}]}`,
			wantErr: scimErr("invalidSyntax", "Operations[0] is not an object with string op and path")},
		{reason: "an operation that is not an object",
			body:    `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":["remove"]}`,
			wantErr: scimErr("invalidSyntax", "Operations[0] is not an object with string op and path")},
		{reason: "not JSON",
			body:    `{"Operations":[`,
			wantErr: scimErr("invalidSyntax", "the body is not a valid PatchOp JSON object")},
		{reason: "trailing data",
			body:    `{"Operations":[{"op":"remove","path":"title"}]} {}`,
			wantErr: scimErr("invalidSyntax", "the body is not a valid PatchOp JSON object")},
		{reason: "an array body",
			body:    `[{"op":"remove","path":"title"}]`,
			wantErr: scimErr("invalidSyntax", "the body is not a valid PatchOp JSON object")},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got, err := Decode([]byte(tc.body), quirks(tc.strict))
			if diff := cmp.Diff(tc.wantErr, err); diff != "" {
				t.Fatalf("error: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}
