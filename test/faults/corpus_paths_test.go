package faults

import (
	"net/http"
	"strings"
)

// pathCases: request targets that try to reach b's user carol, or a's user
// bob, through percent-encoding, double encoding, dot segments, backslashes,
// NUL bytes and other spellings. Any '%' or '\' in a path is refused (404)
// before authentication, so the endpoint a request authenticates against is
// exactly the one its path names; targets net/http cannot parse are its own
// 400. Each target is sent as GET and DELETE with a's token, b's token and
// none.
func (w *world) pathCases() []hostileCase {
	pa, pb := prefix(w.a), prefix(w.b)
	carol, bob := w.id("b/carol"), w.id("a/bob")
	na, nb := w.a.Namespace, w.b.Namespace
	toB := nb + "/idp/Users/" + carol
	routed := func(ownA outcome) map[string]outcome { // names a path of a
		return map[string]outcome{"a": ownA, "b": noAuth, "none": noAuth}
	}
	refused := map[string]outcome{"a": notFound, "b": notFound, "none": notFound}
	plain := map[string]outcome{"a": plainRefusal(http.StatusBadRequest), "b": plainRefusal(http.StatusBadRequest), "none": plainRefusal(http.StatusBadRequest)}
	ofB := map[string]outcome{"a": noAuth, "none": noAuth} // names b's own path: b's token would be legitimate
	targets := []struct {
		target string
		want   map[string]outcome
	}{
		{"/scim/v2/" + nb + "%2Fidp/Users/" + carol, refused},
		{"/scim/v2/" + nb + "%2fidp%2FUsers%2F" + carol, refused},
		{pa + "/Users/..%2F..%2F..%2F" + strings.ReplaceAll(toB, "/", "%2F"), refused},
		{pa + "/%2e%2e/%2e%2e/" + toB, refused},
		{pa + "/Users/%2e%2e", refused},
		{pa + "/Users/%2E%2E/%2E%2E/%2E%2E/" + toB, refused},
		{pa + "/Users/%252e%252e%252f%252e%252e%252f" + strings.ReplaceAll(toB, "/", "%252f"), refused},
		{pa + "/Users/%25252e%25252e", refused},
		{pa + "/Users/" + bob + "%2F..%2F..%2F..%2F" + strings.ReplaceAll(toB, "/", "%2F"), refused},
		{pa + "/Users/%c0%ae%c0%ae/%c0%ae%c0%ae/" + toB, refused},
		{pa + "/Users/%u002e%u002e", plain},
		{pa + "/Users/" + carol + "%00", refused},
		{pa + "%2FUsers", refused},
		{pa + "/Users%2F" + bob, refused},
		{pa + "/%55sers/" + bob, refused},
		{pa + "/Users/%62%6f%62", refused},
		{"/scim/v2/" + na + "/idp%00/Users", refused},
		{"/scim/v2/%2e%2e/" + nb + "/idp/Users", refused},
		{"/scim%2Fv2/" + toB, refused},
		{"/scim/v2/" + na + "/idp\\..\\..\\" + nb + "\\idp\\Users", refused},
		{pa + "\\Users\\" + bob, refused},
		{pa + "/Users/..\\..\\..\\" + strings.ReplaceAll(toB, "/", "\\"), refused},
		{pa + "/../../" + toB, refused},
		{pa + "/Users/../../../" + toB, refused},
		{pa + "/./Users/" + bob, refused},
		{pa + "/Users/./" + bob, refused},
		{pa + "/Users//" + bob, refused},
		{"//scim/v2/" + toB, refused},
		{"/scim/v2//" + na + "/idp/Users/" + bob, refused},
		{"/scim/./v2/" + na + "/idp/Users/" + bob, refused},
		{pa + "/Users/..", refused},
		{pa + "/Users/.", refused},
		{"*", refused},
		{pa + "/Users/" + carol, routed(notFound)},
		{pa + "/Users/" + bob + ";jsessionid=x", routed(notFound)},
		{pa + "/Users/" + bob + ";/../" + carol, refused},
		{pa + "/Users/" + strings.ToUpper(bob), routed(notFound)},
		{pa + "/Users/" + bob + "..", routed(notFound)},
		{pa + "/Users/" + bob + "%", plain},
		{pa + "/Users/" + bob + "%zz", plain},
		{pa + "/Users/" + bob + "\x00", plain},
		{pa + "/Users/" + bob + "\x7f", plain},
		{"scim/v2/" + na + "/idp/Users/" + bob, plain},
		{pb + "/Users/" + carol, ofB},
		{pb + "/Users/" + carol + "?x=/../../" + na + "/idp", ofB},
		{pb + "/Users/" + carol + "?ns=" + na + "&name=idp", ofB},
		{pb + "/Users/" + carol + "#/../../" + na + "/idp", refused},
	}
	tokens := map[string]string{"a": w.a.Token, "b": w.b.Token}
	var cases []hostileCase
	for _, t := range targets {
		for _, who := range []string{"a", "b", "none"} {
			want, ok := t.want[who]
			if !ok {
				continue
			}
			for _, method := range []string{http.MethodGet, http.MethodDelete} {
				r := rawRequest{method: method, target: t.target}
				if who != "none" {
					r.headers = []header{{"Authorization", "Bearer " + tokens[who]}}
				}
				cases = append(cases, named(method+" with "+who+"'s token", r, want))
			}
		}
	}
	return mark("paths", cases...)
}

// foreignIDCases: a's token and a's own base URL with ids that are not a's
// users or groups: other endpoints' (also in a's namespace), a's groups as
// users and users as groups, names of other kinds in a's namespace (claims,
// membership shards, the token Secret), and ids of odd shapes. Every method
// is 404 (PUT never creates); member references to them are 400
// invalidValue and change nothing.
func (w *world) foreignIDCases() []hostileCase {
	eng, alice, bob := w.id("a/engineering"), w.id("a/alice"), w.id("a/bob")
	odd := []string{"00919288221112222", "idp-token", "other-token", eng + "-0", eng + "-1",
		"user-" + strings.Repeat("0", 40), "a.b.c", "-x", "x_y", "ALICE", strings.Repeat("x", 253), strings.Repeat("y", 300)}
	users := append([]string{w.id("b/carol"), w.id("a2/alice"), w.id("s/sam"), eng, w.id("b/platform")}, odd...)
	groups := append([]string{w.id("b/platform"), w.id("a2/engineering"), w.id("s/strict"), alice}, odd...)
	var cases []hostileCase
	for _, id := range users {
		cases = append(cases,
			named("GET user "+id, call(w.a, http.MethodGet, "/Users/"+id, nil), notFound),
			named("PUT user "+id, call(w.a, http.MethodPut, "/Users/"+id, userBody(w.fresh("foreign"), "")), notFound),
			named("PATCH user "+id, call(w.a, http.MethodPatch, "/Users/"+id, patchOp(op("replace", "", map[string]any{"active": false}))), notFound),
			named("DELETE user "+id, call(w.a, http.MethodDelete, "/Users/"+id, nil), notFound),
		)
	}
	for _, id := range groups {
		cases = append(cases,
			named("GET group "+id, call(w.a, http.MethodGet, "/Groups/"+id, nil), notFound),
			named("PUT group "+id, call(w.a, http.MethodPut, "/Groups/"+id, groupBody(w.fresh("foreign"))), notFound),
			named("PATCH group "+id, call(w.a, http.MethodPatch, "/Groups/"+id, patchOp(op("add", "members", []any{map[string]any{"value": bob}}))), notFound),
			named("DELETE group "+id, call(w.a, http.MethodDelete, "/Groups/"+id, nil), notFound),
		)
	}
	member := func(ids ...string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	for _, id := range []string{w.id("b/carol"), w.id("a2/alice"), w.id("b/platform"), w.id("a2/engineering"), eng, "00919288221112222", "idp-token"} {
		cases = append(cases,
			named("add member "+id, call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(op("add", "members", member(bob, id)))), badValue),
			named("replace members with "+id, call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(op("replace", "members", member(alice, id)))), badValue),
			named("PUT group with member "+id, call(w.a, http.MethodPut, "/Groups/"+eng, groupBody("Engineering", alice, id)), badValue),
		)
		if id != eng { // a's own group may be nested in a new group
			cases = append(cases, named("create group with member "+id, call(w.a, http.MethodPost, "/Groups", groupBody(w.fresh("smuggled"), id)), badValue))
		}
	}
	cases = append(cases,
		named("rename and add a foreign member", call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(
			op("replace", "displayName", "Hijacked"), op("add", "members", member(w.id("b/carol"))))), badValue),
		named("assign a user to b's group", call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(
			op("add", "groups", member(w.id("b/platform"))))), refuse(http.StatusBadRequest, "mutability")),
		// excludedAttributes asks for a body (a group PATCH may otherwise be 204).
		named("remove a foreign non-member", call(w.a, http.MethodPatch, "/Groups/"+eng+"?excludedAttributes=members", patchOp(
			op("remove", `members[value eq "`+w.id("b/carol")+`"]`, nil))), accept(http.StatusOK, sameID(eng))),
	)
	return mark("foreign-ids", cases...)
}
