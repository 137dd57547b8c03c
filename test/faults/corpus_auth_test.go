package faults

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// authCases: credentials that are missing, malformed, another endpoint's,
// smuggled in another header or the query, or ambiguous (two Authorization
// fields). Outcome: 401 with a SCIM Error, whatever the method, before any
// body is read. Each target would change state if the check were skipped
// (or reads a user), so a bypass shows as a state change or a 2xx.
func (w *world) authCases() []hostileCase {
	tok := w.a.Token
	wrong := strings.Repeat("0", len(tok))
	sum := sha256.Sum256([]byte(tok))
	variants := []struct {
		name   string
		values []string
	}{
		{"none", nil},
		{"empty", []string{""}},
		{"scheme only", []string{"Bearer"}},
		{"scheme and space", []string{"Bearer "}},
		{"basic user:token", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("okta:"+tok))}},
		{"basic token", []string{"Basic " + tok}},
		{"token scheme", []string{"Token " + tok}},
		{"no scheme", []string{tok}},
		{"token plus suffix", []string{"Bearer " + tok + "x"}},
		{"truncated token", []string{"Bearer " + tok[:len(tok)-1]}},
		{"upper-cased token", []string{"Bearer " + strings.ToUpper(tok)}},
		{"token hash", []string{"Bearer " + hex.EncodeToString(sum[:])}},
		{"quoted token", []string{`Bearer "` + tok + `"`}},
		{"tab separator", []string{"Bearer\t" + tok}},
		{"token twice", []string{"Bearer " + tok + " " + tok}},
		{"comma list", []string{"Bearer " + w.b.Token + ", Bearer " + tok}},
		{"b's token", []string{"Bearer " + w.b.Token}},
		{"a2's token (same namespace)", []string{"Bearer " + w.a2.Token}},
		{"s's token", []string{"Bearer " + w.s.Token}},
		{"duplicate field, valid first", []string{"Bearer " + tok, "Bearer " + wrong}},
		{"duplicate field, valid last", []string{"Bearer " + wrong, "Bearer " + tok}},
		{"duplicate field, both valid", []string{"Bearer " + tok, "Bearer " + tok}},
		{"duplicate field, empty first", []string{"", "Bearer " + tok}},
	}
	targets := []struct {
		name string
		req  rawRequest
	}{
		{"list users", call(w.a, http.MethodGet, "/Users", nil)},
		{"get user", call(w.a, http.MethodGet, "/Users/"+w.id("a/alice"), nil)},
		{"create user", call(w.a, http.MethodPost, "/Users", userBody(w.fresh("auth"), ""))},
		{"deactivate user", call(w.a, http.MethodPatch, "/Users/"+w.id("a/bob"), patchOp(op("replace", "", map[string]any{"active": false})))},
		{"delete group", call(w.a, http.MethodDelete, "/Groups/"+w.id("a/admins"), nil)},
		{"rename group", call(w.a, http.MethodPut, "/Groups/"+w.id("a/engineering"), groupBody("Renamed"))},
	}
	var cases []hostileCase
	for _, t := range targets {
		for _, v := range variants {
			cases = append(cases, named(t.name+", "+v.name, t.req.withHeader("Authorization", v.values...), noAuth))
		}
		// The token elsewhere than in Authorization.
		noHeader := t.req.withHeader("Authorization")
		for _, h := range []string{"X-Authorization", "Proxy-Authorization", "X-Forwarded-Authorization", "Cookie"} {
			r := noHeader
			r.headers = append(r.headers, header{h, "Bearer " + tok})
			cases = append(cases, named(t.name+", token in "+h, r, noAuth))
		}
		r := noHeader
		r.target += "?access_token=" + tok
		if strings.Contains(t.req.target, "?") {
			r.target = strings.Replace(r.target, "?access_token", "&access_token", 1)
		}
		cases = append(cases, named(t.name+", token in the query", r, noAuth))
		// Header lines net/http refuses before the SCIM handler.
		cases = append(cases,
			named(t.name+", NUL in the token", t.req.withHeader("Authorization", "Bearer "+tok+"\x00"), plainRefusal(http.StatusBadRequest)),
			named(t.name+", space before the colon", t.req.withHeader("Authorization").withHeader("Authorization ", "Bearer "+tok), plainRefusal(http.StatusBadRequest)),
		)
	}
	return mark("auth", cases...)
}

// enumerationCases: a's valid token on other endpoints' base URLs and on
// paths that name no endpoint. An endpoint that does not exist and a token
// that is not the endpoint's look the same (401); a path that cannot name an
// endpoint at all is 404. Never 2xx.
func (w *world) enumerationCases() []hostileCase {
	carol, na, nb, ns := w.id("b/carol"), w.a.Namespace, w.b.Namespace, w.s.Namespace
	paths := []struct {
		target string
		want   outcome
	}{
		{"/scim/v2/" + na + "/nope/Users", noAuth},
		{"/scim/v2/nope/idp/Users", noAuth},
		{"/scim/v2/" + nb + "/idp/Users", noAuth},
		{"/scim/v2/" + nb + "/idp/Users/" + carol, noAuth},
		{"/scim/v2/" + na + "/other/Users", noAuth},
		{"/scim/v2/" + na + "/other/Users/" + w.id("a2/alice"), noAuth},
		{"/scim/v2/" + ns + "/strict/Groups", noAuth},
		{"/scim/v2/" + nb + "/idp/ServiceProviderConfig", noAuth},
		{"/scim/v2/" + strings.ToUpper(na[:1]) + na[1:] + "/idp/Users", notFound},
		{"/scim/v2/" + na + "/IDP/Users", notFound},
		{"/scim/v2/" + na + "/idp", notFound},
		{"/scim/v2/" + na, notFound},
		{"/scim/v2/", notFound},
		{"/scim/v2", notFound},
		{"/", notFound},
		{"/scim/v1/" + na + "/idp/Users", notFound},
		{"/SCIM/v2/" + na + "/idp/Users", notFound},
		{"/scim/v2/" + na + "/idp/users", notFound},
		{"/scim/v2/" + na + "/idp/USERS", notFound},
		{"/scim/v2/" + na + "/idp/Me", notFound},
		{"/scim/v2/" + na + "/idp/Users/" + w.id("a/alice") + "/groups", notFound},
		{"/scim/v2/-bad-/idp/Users", notFound},
		{"/scim/v2/" + na + "/" + strings.Repeat("x", 254) + "/Users", notFound},
		{"/scim/v2/" + strings.Repeat("y", 64) + "/idp/Users", notFound},
	}
	var cases []hostileCase
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			r := call(w.a, method, "", nil)
			r.target = p.target
			cases = append(cases, named(method+" "+p.target, r, p.want))
		}
	}
	return mark("enumeration", cases...)
}

// methodCases: methods a resource does not support, and method override
// headers (ignored). 405 with a SCIM Error; HEAD responses carry no body.
func (w *world) methodCases() []hostileCase {
	alice, eng, bob := w.id("a/alice"), w.id("a/engineering"), w.id("a/bob")
	notAllowed := refuse(http.StatusMethodNotAllowed, "")
	user := userBody(w.fresh("method"), "")
	cases := []hostileCase{
		named("TRACE users", call(w.a, "TRACE", "/Users", nil), notAllowed),
		named("OPTIONS users", call(w.a, http.MethodOptions, "/Users", nil), notAllowed),
		named("PROPFIND users", call(w.a, "PROPFIND", "/Users", nil), notAllowed),
		named("FOO user", call(w.a, "FOO", "/Users/"+alice, nil), notAllowed),
		named("lower-case get", call(w.a, "get", "/Users", nil), notAllowed),
		named("lower-case delete", call(w.a, "delete", "/Users/"+bob, nil), notAllowed),
		named("POST on a user", call(w.a, http.MethodPost, "/Users/"+alice, user), notAllowed),
		named("PUT on the collection", call(w.a, http.MethodPut, "/Users", user), notAllowed),
		named("PATCH on the collection", call(w.a, http.MethodPatch, "/Users", patchOp(op("replace", "active", false))), notAllowed),
		named("DELETE the collection", call(w.a, http.MethodDelete, "/Users", nil), notAllowed),
		named("DELETE the groups", call(w.a, http.MethodDelete, "/Groups", nil), notAllowed),
		named("POST on a group", call(w.a, http.MethodPost, "/Groups/"+eng, groupBody("Engineering")), notAllowed),
		named("POST .search on users", call(w.a, http.MethodPost, "/Users/.search", map[string]any{"filter": "userName pr"}), notAllowed),
		named("POST /.search", call(w.a, http.MethodPost, "/.search", map[string]any{"filter": "userName pr"}), notFound),
		named("PATCH ServiceProviderConfig", call(w.a, http.MethodPatch, "/ServiceProviderConfig", patchOp(op("replace", "bulk.supported", true))), notAllowed),
		named("POST Schemas", call(w.a, http.MethodPost, "/Schemas", map[string]any{"id": "urn:evil"}), notAllowed),
		named("DELETE ResourceTypes", call(w.a, http.MethodDelete, "/ResourceTypes", nil), notAllowed),
		named("PUT a schema", call(w.a, http.MethodPut, "/Schemas/"+userURN, map[string]any{"id": userURN}), notAllowed),
		named("override header on POST", call(w.a, http.MethodPost, "/Users/"+bob, user).withHeader("X-HTTP-Method-Override", "DELETE"), notAllowed),
	}
	for _, target := range []string{"/Users", "/Users/" + alice, "/Groups/" + eng} {
		r := call(w.a, http.MethodHead, target, nil)
		r.bodyless = true
		cases = append(cases, named("HEAD "+target, r, notAllowed))
	}
	// Method override headers are not honoured: a GET stays a GET.
	for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
		cases = append(cases, named("GET with "+h+": DELETE", call(w.a, http.MethodGet, "/Users/"+bob, nil).withHeader(h, "DELETE"),
			accept(http.StatusOK, unchanged)))
	}
	return mark("methods", cases...)
}
