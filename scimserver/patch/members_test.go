package patch

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func TestSplitMembers(t *testing.T) {
	const pre = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	cases := []struct {
		reason   string
		body     string
		strict   bool
		want     []MemberOp
		wantRest []Operation
		wantErr  error
	}{
		{reason: "Okta adds members",
			body: pre + `{"op":"add","path":"members","value":[{"value":"u1","display":"Babs"},{"value":"u2","display":"Mandy"}]}]}`,
			want: []MemberOp{{MemberAdd, []string{"u1", "u2"}}}},
		{reason: "Okta removes a member with a filter and no value",
			body: pre + `{"op":"remove","path":"members[value eq \"u1\"]"}]}`,
			want: []MemberOp{{MemberRemove, []string{"u1"}}}},
		{reason: "a filter with or removes several members",
			body: pre + `{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\"]"}]}`,
			want: []MemberOp{{MemberRemove, []string{"u1", "u2"}}}},
		{reason: "Okta replaces all members",
			body: pre + `{"op":"replace","path":"members","value":[{"value":"u3"}]}]}`,
			want: []MemberOp{{MemberReplace, []string{"u3"}}}},
		{reason: "replace with [] is a Replace with no values",
			body: pre + `{"op":"replace","path":"members","value":[]}]}`,
			want: []MemberOp{{MemberReplace, nil}}},
		{reason: "replace with null is a Replace with no values",
			body: pre + `{"op":"replace","path":"members","value":null}]}`,
			want: []MemberOp{{MemberReplace, nil}}},
		{reason: "Entra removes listed members with path members and a value",
			body: pre + `{"op":"Remove","path":"members","value":[{"value":"u1"},{"value":"u2"}]}]}`,
			want: []MemberOp{{MemberRemove, []string{"u1", "u2"}}}},
		{reason: "Entra adds a member with \"$ref\": null",
			body: pre + `{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`,
			want: []MemberOp{{MemberAdd, []string{"u1"}}}},
		{reason: "remove of members without value removes them all",
			body: pre + `{"op":"remove","path":"members"}]}`,
			want: []MemberOp{{MemberRemoveAll, nil}}},
		{reason: "a URN-prefixed members path",
			body: pre + `{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members","value":[{"value":"u1"}]}]}`,
			want: []MemberOp{{MemberAdd, []string{"u1"}}}},
		{reason: "ids are de-duplicated within an operation",
			body: pre + `{"op":"add","path":"members","value":[{"value":"u1"},{"value":"u2"},{"value":"u1"}]}]}`,
			want: []MemberOp{{MemberAdd, []string{"u1", "u2"}}}},
		{reason: "adding nothing yields no operation",
			body: pre + `{"op":"add","path":"members","value":[]}]}`},
		{reason: "a lone member object is refused when lenient too",
			body:    pre + `{"op":"add","path":"members","value":{"value":"u1"}}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "members": expected an array`)},
		{reason: "Entra's remove with a value list is refused when strict",
			body: pre + `{"op":"remove","path":"members","value":[{"value":"u1"}]}]}`, strict: true,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "members": remove takes no value; select the elements with a filter such as [value eq "..."]`)},
		{reason: "a no-path replace keeps its other keys in rest",
			body:     pre + `{"op":"replace","value":{"displayName":"New","members":[{"value":"u1"}]}}]}`,
			want:     []MemberOp{{MemberReplace, []string{"u1"}}},
			wantRest: []Operation{{Op: "replace", Value: json.RawMessage(`{"displayName":"New"}`)}}},
		{reason: "a no-path add with only members leaves nothing in rest",
			body: pre + `{"op":"add","value":{"Members":[{"value":"u1"}]}}]}`,
			want: []MemberOp{{MemberAdd, []string{"u1"}}}},
		{reason: "Okta's rename goes to rest unchanged",
			body:     pre + `{"op":"replace","value":{"id":"g1","displayName":"New"}}]}`,
			wantRest: []Operation{{Op: "replace", Value: json.RawMessage(`{"id":"g1","displayName":"New"}`)}}},
		{reason: "request order is kept on both sides",
			body: pre + `{"op":"add","path":"members","value":[{"value":"u1"}]},
			              {"op":"replace","path":"displayName","value":"X"},
			              {"op":"remove","path":"members[value eq \"u2\"]"},
			              {"op":"add","path":"externalId","value":"e"}]}`,
			want: []MemberOp{{MemberAdd, []string{"u1"}}, {MemberRemove, []string{"u2"}}},
			wantRest: []Operation{{Op: "replace", Path: "displayName", Value: json.RawMessage(`"X"`)},
				{Op: "add", Path: "externalId", Value: json.RawMessage(`"e"`)}}},
		{reason: "remove without path goes to rest, where Apply reports noTarget",
			body:     pre + `{"op":"remove"}]}`,
			wantRest: []Operation{{Op: "remove"}}},
		{reason: "any other filter on a remove is invalidFilter",
			body:    pre + `{"op":"remove","path":"members[display eq \"Babs\"]"}]}`,
			wantErr: scimErr("invalidFilter", `Operations[0]: attribute "members": a remove filter must be value eq "<id>", optionally joined with or`)},
		{reason: "an and filter is invalidFilter",
			body:    pre + `{"op":"remove","path":"members[value eq \"u1\" and type eq \"User\"]"}]}`,
			wantErr: scimErr("invalidFilter", `Operations[0]: attribute "members": a remove filter must be value eq "<id>", optionally joined with or`)},
		{reason: "a filter on add is invalidPath",
			body:    pre + `{"op":"add","path":"members[value eq \"u1\"]","value":{"value":"u1"}}]}`,
			wantErr: scimErr("invalidPath", `Operations[0]: attribute "members": add does not take a value filter`)},
		{reason: "a sub-attribute path is invalidPath",
			body:    pre + `{"op":"replace","path":"members[value eq \"u1\"].display","value":"x"}]}`,
			wantErr: scimErr("invalidPath", `Operations[0]: attribute "members": change whole members, not their sub-attributes`)},
		{reason: "a dotted members key in a no-path value is invalidPath",
			body:    pre + `{"op":"replace","value":{"members.value":"u1"}}]}`,
			wantErr: scimErr("invalidPath", `Operations[0]: attribute "members": change whole members, not their sub-attributes`)},
		{reason: "a member without value",
			body:    pre + `{"op":"add","path":"members","value":[{"display":"Babs"}]}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "members": every member needs a string "value"`)},
		{reason: "a member given as a bare string",
			body:    pre + `{"op":"add","path":"members","value":["u1"]}]}`,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "members": expected an object`)},
		{reason: "add without a value",
			body:    pre + `{"op":"add","path":"members"}]}`,
			wantErr: scimErr("invalidValue", "Operations[0]: add needs a value")},
		{reason: "a lone member object is refused when strict",
			body: pre + `{"op":"add","path":"members","value":{"value":"u1"}}]}`, strict: true,
			wantErr: scimErr("invalidValue", `Operations[0]: attribute "members": expected an array`)},
		{reason: "an unknown path is invalidPath",
			body:    pre + `{"op":"add","path":"member","value":[]}]}`,
			wantErr: scimErr("invalidPath", `Operations[0]: unknown attribute "member"`)},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			ops, err := Decode([]byte(tc.body), quirks(tc.strict))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			members, rest, err := SplitMembers(schema.GroupResourceType, ops, Options{Quirks: quirks(tc.strict)})
			if diff := cmp.Diff(tc.wantErr, err); diff != "" {
				t.Fatalf("error: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, members); diff != "" {
				t.Errorf("members: -want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRest, rest); diff != "" {
				t.Errorf("rest: -want +got:\n%s", diff)
			}
		})
	}
}

func TestSplitMembersWithoutMembersAttribute(t *testing.T) {
	ops := []Operation{{Op: "add", Path: "members", Value: json.RawMessage(`[]`)}}
	members, rest, err := SplitMembers(schema.UserResourceType, ops, Options{Quirks: schema.Lenient()})
	if err != nil || members != nil {
		t.Fatalf("SplitMembers on User = %v, %v", members, err)
	}
	if diff := cmp.Diff(ops, rest); diff != "" {
		t.Errorf("rest: -want +got:\n%s", diff)
	}
}

func TestMemberOpKindString(t *testing.T) {
	got := []string{MemberAdd.String(), MemberRemove.String(), MemberReplace.String(),
		MemberRemoveAll.String(), MemberOpKind(0).String()}
	want := []string{"Add", "Remove", "Replace", "RemoveAll", "MemberOpKind(?)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

// TestSplitThenApply checks the intended use: membership goes to the member
// store and the rest is applied to the group object without its members.
func TestSplitThenApply(t *testing.T) {
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
	  {"op":"replace","value":{"id":"g1","displayName":"Renamed","members":[{"value":"u9"}]}}]}`
	ops, err := Decode([]byte(body), schema.Lenient())
	if err != nil {
		t.Fatal(err)
	}
	members, rest, err := SplitMembers(schema.GroupResourceType, ops, Options{Quirks: schema.Lenient()})
	if err != nil {
		t.Fatal(err)
	}
	group := map[string]any{"id": "g1", "displayName": "Old"}
	if err := Apply(schema.GroupResourceType, group, rest, Options{Quirks: schema.Lenient()}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"id": "g1", "displayName": "Renamed"}, group); diff != "" {
		t.Errorf("group: -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]MemberOp{{MemberReplace, []string{"u9"}}}, members); diff != "" {
		t.Errorf("members: -want +got:\n%s", diff)
	}
}
