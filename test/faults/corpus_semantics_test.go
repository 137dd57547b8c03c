package faults

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// massAssignmentCases: read-only and internal attributes in request bodies
// (RFC 7643 §2.2: readOnly values sent by a client are ignored). A POST
// carrying them creates a user with an id, meta and groups of the server's
// choosing and nothing else; a PUT or no-path PATCH that differs only in them
// is a 200 that writes nothing. Naming one as a PATCH path is 400
// mutability. externalId is not unique (RFC 7643 §3.1): a colliding one
// creates a separate user and leaves the holder untouched.
func (w *world) massAssignmentCases() []hostileCase {
	alice, bob, eng, admins := w.id("a/alice"), w.id("a/bob"), w.id("a/engineering"), w.id("a/admins")
	evilMeta := map[string]any{"resourceType": "Group", "created": "1999-01-01T00:00:00Z", "lastModified": "1999-01-01T00:00:00Z",
		"location": "http://evil.example/Users/x", "version": `W/"1"`}
	post := func(name string, extra map[string]any, check func(r reply, u *scimv1.ScimUser) string) hostileCase {
		b := userBody(w.fresh("mass"), "")
		maps.Copy(b, extra)
		var last reply
		created := w.createsUser(w.a, func(u *scimv1.ScimUser) string { return check(last, u) })
		return named("POST with "+name, call(w.a, http.MethodPost, "/Users", b), accept(http.StatusCreated, func(r reply, d delta) string {
			last = r
			return created(r, d)
		}))
	}
	notNamed := func(id string) func(reply, *scimv1.ScimUser) string {
		return func(_ reply, u *scimv1.ScimUser) string {
			if u.Name == id {
				return "the client chose the id"
			}
			return ""
		}
	}
	cases := []hostileCase{
		post("id of another user", map[string]any{"id": bob}, notNamed(bob)),
		post("id of b's user", map[string]any{"id": w.id("b/carol")}, notNamed(w.id("b/carol"))),
		post("path-like id", map[string]any{"id": "../../" + w.b.Namespace + "/idp/Users/x"}, notNamed("../../"+w.b.Namespace+"/idp/Users/x")),
		post("the token Secret's name as id", map[string]any{"id": "idp-token"}, notNamed("idp-token")),
		post("id by URN", map[string]any{userURN + ":id": bob}, notNamed(bob)),
		post("ID in capitals", map[string]any{"ID": bob}, notNamed(bob)),
		post("meta", map[string]any{"meta": evilMeta}, func(r reply, _ *scimv1.ScimUser) string {
			m, _ := jsonBody(r)["meta"].(map[string]any)
			if loc, _ := m["location"].(string); !strings.HasPrefix(loc, "http://"+w.addr+prefix(w.a)+"/Users/") ||
				m["resourceType"] != "User" || m["created"] == evilMeta["created"] || m["version"] == evilMeta["version"] {
				return fmt.Sprintf("meta taken from the request: %v", m)
			}
			return ""
		}),
		post("groups of a", map[string]any{"groups": []any{map[string]any{"value": eng}, map[string]any{"value": admins}}}, noGroups),
		post("groups of b", map[string]any{"groups": []any{map[string]any{"value": w.id("b/platform")}}}, noGroups),
		post("password", map[string]any{"password": "hunter2-never-stored"}, func(r reply, u *scimv1.ScimUser) string {
			if data, _ := json.Marshal(u); strings.Contains(string(data), "hunter2") || strings.Contains(string(r.Body), "hunter2") {
				return "password stored or returned"
			}
			return ""
		}),
		post("Kubernetes fields", map[string]any{"endpoint": "other", "enterprise": map[string]any{"department": "evil"},
			"metadata": map[string]any{"labels": map[string]any{"evil": "yes"}, "finalizers": []any{"evil/hold"}},
			"spec":     map[string]any{"endpoint": "other"}, "status": map[string]any{"ready": true}, "kind": "Secret", "apiVersion": "v1"},
			func(_ reply, u *scimv1.ScimUser) string {
				if data, _ := json.Marshal(u); strings.Contains(string(data), "evil") {
					return "internal fields assigned: " + string(data)
				}
				return ""
			}),
		post("externalId of bob", map[string]any{"externalId": "ext-bob"}, func(_ reply, u *scimv1.ScimUser) string { return "" }),
		post("externalId of s's sam", map[string]any{"externalId": "3001"}, func(_ reply, u *scimv1.ScimUser) string { return "" }),
	}
	// Bob exactly as seeded plus read-only extras: nothing to write.
	putBob := func(name string, extra map[string]any) hostileCase {
		b := maps.Clone(w.users["bob"])
		maps.Copy(b, extra)
		return named("PUT bob with "+name, call(w.a, http.MethodPut, "/Users/"+bob, b), accept(http.StatusOK, sameID(bob)))
	}
	cases = append(cases,
		putBob("alice's id", map[string]any{"id": alice}),
		putBob("meta", map[string]any{"meta": evilMeta}),
		putBob("groups", map[string]any{"groups": []any{map[string]any{"value": eng}}}),
		putBob("a password", map[string]any{"password": "hunter2"}),
		putBob("endpoint", map[string]any{"endpoint": "other"}),
		named("PATCH bob no-path id, meta, groups", call(w.a, http.MethodPatch, "/Users/"+bob, patchOp(op("replace", "",
			map[string]any{"id": alice, "meta": evilMeta, "groups": []any{map[string]any{"value": eng}}}))), accept(http.StatusOK, sameID(bob))),
		named("PATCH bob password", call(w.a, http.MethodPatch, "/Users/"+bob, patchOp(op("replace", "password", "hunter2"))), accept(http.StatusOK, sameID(bob))),
		named("PUT group with id and meta", call(w.a, http.MethodPut, "/Groups/"+eng, map[string]any{"schemas": []any{groupURN},
			"id": admins, "meta": evilMeta, "displayName": "Engineering", "members": []any{map[string]any{"value": alice}}}), accept(http.StatusOK, sameID(eng))),
		named("Okta rename carrying another id", call(w.a, http.MethodPatch, "/Groups/"+eng+"?excludedAttributes=members", patchOp(op("replace", "",
			map[string]any{"id": admins, "displayName": "Engineering"}))), accept(http.StatusOK, sameID(eng))),
		named("POST group with an id", call(w.a, http.MethodPost, "/Groups", map[string]any{"displayName": w.fresh("mass"), "id": eng}),
			accept(http.StatusCreated, w.createsGroup(w.a))),
	)
	mutability := refuse(http.StatusBadRequest, "mutability")
	for _, p := range []struct {
		kind, path string
		value      any
	}{
		{"replace", "id", alice}, {"remove", "id", nil}, {"add", "id", "x"},
		{"replace", "meta", evilMeta}, {"replace", "meta.created", "1999-01-01T00:00:00Z"}, {"remove", "meta", nil},
		{"add", "groups", []any{map[string]any{"value": admins}}}, {"remove", "groups", nil},
		{"replace", "groups", []any{map[string]any{"value": eng}}},
	} {
		cases = append(cases, named("PATCH bob "+p.kind+" "+p.path, call(w.a, http.MethodPatch, "/Users/"+bob, patchOp(op(p.kind, p.path, p.value))), mutability))
	}
	cases = append(cases,
		named("PATCH group replace id", call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(op("replace", "id", admins))), mutability),
		named("PATCH bob internal endpoint", call(w.a, http.MethodPatch, "/Users/"+bob, patchOp(op("replace", "endpoint", "other"))), refuse(http.StatusBadRequest, "invalidPath")),
	)
	return mark("mass-assignment", cases...)
}

// noGroups checks the created user's response lists no groups.
func noGroups(r reply, _ *scimv1.ScimUser) string {
	if g, _ := jsonBody(r)["groups"].([]any); len(g) > 0 {
		return fmt.Sprintf("groups taken from the request: %v", g)
	}
	return ""
}

// sameID checks a 200 that wrote nothing and answered with the resource at id.
func sameID(id string) func(reply, delta) string {
	return func(r reply, d delta) string {
		if p := unchanged(r, d); p != "" {
			return p
		}
		if got, _ := jsonBody(r)["id"].(string); got != id {
			return fmt.Sprintf("response id %q, want %q", got, id)
		}
		return ""
	}
}

// uniquenessCases: case variants of a's existing userNames and group
// displayName, in creates, replaces and PATCHes: 409 uniqueness (userName
// and displayName are caseExact false). The same names in a when they
// belong to another endpoint are fine: created.
func (w *world) uniquenessCases() []hostileCase {
	bob, admins := w.id("a/bob"), w.id("a/admins")
	conflict := refuse(http.StatusConflict, "uniqueness")
	var cases []hostileCase
	for _, v := range []string{"ALICE@EXAMPLE.COM", "Alice@Example.com", "alice@EXAMPLE.com", "aLiCe@eXaMpLe.CoM", "alice@example.com",
		"bob.builder@example.com", "BOB.BUILDER@EXAMPLE.COM", "\u212Aristoffer.ross@example.com"} {
		put := maps.Clone(w.users["bob"])
		put["userName"] = v
		cases = append(cases,
			named("POST "+v, call(w.a, http.MethodPost, "/Users", userBody(v, "")), conflict),
		)
		if !strings.EqualFold(v, "bob.builder@example.com") {
			cases = append(cases,
				named("PUT bob as "+v, call(w.a, http.MethodPut, "/Users/"+bob, put), conflict),
				named("PATCH bob userName "+v, call(w.a, http.MethodPatch, "/Users/"+bob, patchOp(op("replace", "userName", v))), conflict),
				named("PATCH bob no-path "+v, call(w.a, http.MethodPatch, "/Users/"+bob, patchOp(op("Replace", "", map[string]any{"userName": v}))), conflict),
			)
		}
	}
	dup := fmt.Sprintf(`{"schemas": [%q], "userName": %q, "userName": "ALICE@example.com"}`, userURN, w.fresh("dup"))
	cases = append(cases,
		named("duplicate userName key", call(w.a, http.MethodPost, "/Users", dup), conflict),
		named("userName and UserName", call(w.a, http.MethodPost, "/Users", map[string]any{"userName": w.fresh("dup"), "UserName": "Alice@example.com"}), conflict),
	)
	for _, v := range []string{"ENGINEERING", "engineering", "EnGiNeErInG"} {
		cases = append(cases,
			named("POST group "+v, call(w.a, http.MethodPost, "/Groups", groupBody(v)), conflict),
			named("PUT admins as "+v, call(w.a, http.MethodPut, "/Groups/"+admins, groupBody(v, bob)), conflict),
			named("PATCH admins displayName "+v, call(w.a, http.MethodPatch, "/Groups/"+admins, patchOp(op("replace", "displayName", v))), conflict),
			named("PATCH admins no-path "+v, call(w.a, http.MethodPatch, "/Groups/"+admins, patchOp(op("replace", "", map[string]any{"displayName": v}))), conflict),
		)
	}
	cases = append(cases,
		named("s's userName in a", call(w.a, http.MethodPost, "/Users", userBody("SAM@example.com", "")), accept(http.StatusCreated, w.createsUser(w.a, nil))),
		named("s's group name in a", call(w.a, http.MethodPost, "/Groups", groupBody("strict group")), accept(http.StatusCreated, w.createsGroup(w.a))),
	)
	return mark("uniqueness", cases...)
}
