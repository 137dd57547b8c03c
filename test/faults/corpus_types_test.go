package faults

import (
	"fmt"
	"net/http"
	"strings"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// typeCases: attribute values of the wrong JSON type. Values no documented
// IdP quirk reads (docs/compatibility.md) are 400 invalidValue on every
// endpoint (POST with a fresh userName, PUT and PATCH on alice): among them
// a number or boolean where a string belongs and one object or a string
// where a list of complex values belongs. Values the lenient mode reads by a
// documented Entra quirk ("True" for a boolean, the manager as an id string)
// create the user on a, with the coerced value stored and nothing else
// touched; strict s refuses them (400 invalidValue).
func (w *world) typeCases() []hostileCase {
	alice := w.id("a/alice")
	refused := []struct {
		name  string
		key   string
		value any
	}{
		{"userName object", "userName", map[string]any{}},
		{"userName empty array", "userName", []any{}},
		{"userName array", "userName", []any{"a@example.com", "b@example.com"}},
		{"userName value object", "userName", map[string]any{"value": "x@example.com"}},
		{"userName null", "userName", nil},
		{"userName empty", "userName", ""},
		{"userName blank", "userName", "   "},
		{"name string", "name", "Ada Lovelace"},
		{"name array", "name", []any{map[string]any{"givenName": "Ada"}}},
		{"givenName object", "name", map[string]any{"givenName": map[string]any{}}},
		{"active yes", "active", "yes"},
		{"active 1", "active", 1},
		{"active 0", "active", 0},
		{"active object", "active", map[string]any{}},
		{"active array", "active", []any{true}},
		{"active empty string", "active", ""},
		{"emails of numbers", "emails", []any{1}},
		{"emails of arrays", "emails", []any{[]any{"x@example.com"}}},
		{"email value object", "emails", []any{map[string]any{"value": map[string]any{}}}},
		{"email primary maybe", "emails", []any{map[string]any{"value": "x@example.com", "primary": "maybe"}}},
		{"email type array", "emails", []any{map[string]any{"value": "x@example.com", "type": []any{"work"}}}},
		{"enterprise string", enterpriseURN, "Engineering"},
		{"enterprise array", enterpriseURN, []any{map[string]any{"department": "x"}}},
		{"manager number", enterpriseURN, map[string]any{"manager": 5}},
		{"manager array", enterpriseURN, map[string]any{"manager": []any{"id"}}},
		{"employeeNumber object", enterpriseURN, map[string]any{"employeeNumber": map[string]any{}}},
		{"address formatted array", "addresses", []any{map[string]any{"formatted": []any{"x"}}}},
		{"certificate value object", "x509Certificates", []any{map[string]any{"value": map[string]any{}}}},
		{"locale object", "locale", map[string]any{"value": "en"}},
		{"externalId object", "externalId", map[string]any{}},
		{"externalId array", "externalId", []any{"1"}},
		{"numeric userName", "userName", 900001},
		{"float userName", "userName", 1.5e3},
		{"numeric externalId", "externalId", 1001},
		{"huge numeric externalId", "externalId", mustNumber("12345678901234567890123")},
		{"boolean title", "title", true},
		{"numeric givenName", "name", map[string]any{"givenName": 5}},
		{"emails as one object", "emails", map[string]any{"value": "single@example.com", "type": "work"}},
		{"emails as a string", "emails", "plain@example.com"},
	}
	var cases []hostileCase
	for _, c := range refused {
		user := set(userBody(w.fresh("types"), ""), c.key, c.value)
		put := set(userBody("alice@example.com", "1001"), c.key, c.value)
		cases = append(cases,
			named("POST a, "+c.name, call(w.a, http.MethodPost, "/Users", user), badValue),
			named("POST s, "+c.name, call(w.s, http.MethodPost, "/Users", user), badValue),
			named("PUT a/alice, "+c.name, call(w.a, http.MethodPut, "/Users/"+alice, put), badValue),
		)
		if c.value != nil && c.key != "userName" {
			cases = append(cases, named("PATCH a/alice, "+c.name, call(w.a, http.MethodPatch, "/Users/"+alice,
				patchOp(op("replace", c.key, c.value))), badValue))
		}
	}
	for _, c := range w.coercions() {
		cases = append(cases,
			named("POST s, "+c.name, call(w.s, http.MethodPost, "/Users", c.body), badValue),
			named("POST a, "+c.name, call(w.a, http.MethodPost, "/Users", c.body), accept(http.StatusCreated, w.createsUser(w.a, c.check))),
		)
	}
	return mark("types", cases...)
}

// coercion is a wrongly typed value lenient mode reads by a documented rule.
type coercion struct {
	name  string
	body  map[string]any
	check func(u *scimv1.ScimUser) string
}

func (w *world) coercions() []coercion {
	want := func(what string, got, expected any) string {
		if fmt.Sprint(got) != fmt.Sprint(expected) {
			return fmt.Sprintf("stored %s %v, want %v", what, got, expected)
		}
		return ""
	}
	with := func(key string, value any) map[string]any { return set(userBody(w.fresh("coerced"), ""), key, value) }
	return []coercion{
		{"active False", with("active", "False"), func(u *scimv1.ScimUser) string { return want("active", u.Spec.Active, false) }},
		{"active TRUE", with("active", "TRUE"), func(u *scimv1.ScimUser) string { return want("active", u.Spec.Active, true) }},
		{"manager as an id string", with(enterpriseURN, map[string]any{"manager": "mgr-1"}), func(u *scimv1.ScimUser) string {
			if u.Spec.Enterprise == nil || u.Spec.Enterprise.Manager == nil {
				return "no manager stored"
			}
			return want("manager", u.Spec.Enterprise.Manager.Value, "mgr-1")
		}},
	}
}

// set sets a user attribute, listing the enterprise extension in schemas
// when that is what it sets (RFC 7643 §3.3), so the value is what is tested.
func set(user map[string]any, key string, value any) map[string]any {
	user[key] = value
	if key == enterpriseURN {
		user["schemas"] = []any{userURN, enterpriseURN}
	}
	return user
}

// mustNumber is a JSON number too large for float64, kept verbatim.
type mustNumber string

func (n mustNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// hugeCases: values over the CRD's length and item limits (the API server
// refuses them: 400 invalidValue, and the userName claim taken first is
// given back), and PATCH requests over the operation cap. Nothing changes.
func (w *world) hugeCases() []hostileCase {
	alice, eng, bob := w.id("a/alice"), w.id("a/engineering"), w.id("a/bob")
	long := func(n int) string { return strings.Repeat("x", n) }
	emails := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"value": fmt.Sprintf("e%d@example.com", i), "type": "work"}
		}
		return out
	}
	with := func(key string, value any) map[string]any { return set(userBody(w.fresh("huge"), ""), key, value) }
	var cases []hostileCase
	for _, c := range []struct {
		name string
		body map[string]any
	}{
		{"userName 1,025 characters", with("userName", long(1025)+"@example.com")},
		{"userName 100,000 characters", with("userName", long(100000))},
		{"userName 900,000 characters", with("userName", long(900000))},
		{"displayName 1,025 characters", with("displayName", long(1025))},
		{"title 100,000 characters", with("title", long(100000))},
		{"externalId 1,025 characters", with("externalId", long(1025))},
		{"givenName 1,025 characters", with("name", map[string]any{"givenName": long(1025)})},
		{"email value 4,097 characters", with("emails", []any{map[string]any{"value": long(4097)}})},
		{"65 emails", with("emails", emails(65))},
		{"5,000 emails", with("emails", emails(5000))},
		{"65 phone numbers", with("phoneNumbers", emails(65))},
		{"department 1,025 characters", with(enterpriseURN, map[string]any{"department": long(1025)})},
	} {
		put := userBody("alice@example.com", "1001")
		for k, v := range c.body {
			if k != "userName" || strings.HasPrefix(c.name, "userName") {
				put[k] = v
			}
		}
		cases = append(cases,
			named("POST "+c.name, call(w.a, http.MethodPost, "/Users", c.body), badValue),
			named("PUT alice, "+c.name, call(w.a, http.MethodPut, "/Users/"+alice, put), badValue),
		)
	}
	ops := func(n int, mk func(i int) map[string]any) map[string]any {
		list := make([]map[string]any, n)
		for i := range list {
			list[i] = mk(i)
		}
		return patchOp(list...)
	}
	unknownMembers := make([]any, 15000)
	for i := range unknownMembers {
		unknownMembers[i] = map[string]any{"value": fmt.Sprintf("00000000-0000-0000-0000-%012d", i)}
	}
	cases = append(cases,
		named("group displayName 1,025 characters", call(w.a, http.MethodPost, "/Groups", groupBody(long(1025))), badValue),
		named("group externalId 1,025 characters", call(w.a, http.MethodPost, "/Groups", map[string]any{"displayName": w.fresh("huge"), "externalId": long(1025)}), badValue),
		named("rename group to 1,025 characters", call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(op("replace", "displayName", long(1025)))), badValue),
		named("PATCH title 100,000 characters", call(w.a, http.MethodPatch, "/Users/"+alice, patchOp(op("replace", "title", long(100000)))), badValue),
		named("PATCH 1,001 operations", call(w.a, http.MethodPatch, "/Users/"+alice, ops(1001, func(int) map[string]any { return op("replace", "title", "x") })), badSyntax),
		named("PATCH 1,000 email additions", call(w.a, http.MethodPatch, "/Users/"+alice, ops(1000, func(i int) map[string]any {
			return op("add", "emails", []any{map[string]any{"value": fmt.Sprintf("p%d@example.com", i)}})
		})), badValue),
		// More members than a request may name (10,000 by default) are
		// refused by their number, before any is looked up.
		named("PATCH 15,000 unknown members", call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(op("add", "members", unknownMembers))), tooMany),
		named("PUT group with 15,000 unknown members", call(w.a, http.MethodPut, "/Groups/"+eng, map[string]any{"displayName": "Engineering", "members": unknownMembers}), tooMany),
		named("PATCH 5,000 unknown members", call(w.a, http.MethodPatch, "/Groups/"+eng, patchOp(op("add", "members", unknownMembers[:5000]))), badValue),
		named("PATCH 1,001 member removals", call(w.a, http.MethodPatch, "/Groups/"+eng, ops(1001, func(int) map[string]any {
			return op("remove", `members[value eq "`+bob+`"]`, nil)
		})), badSyntax),
	)
	// A huge key or many keys in attributes lenient mode drops: created,
	// with none of it stored (createsUser checks one user and one claim).
	manyKeys := userBody(w.fresh("keys"), "")
	for i := range 20000 {
		manyKeys[fmt.Sprintf("k%d", i)] = i
	}
	cases = append(cases,
		named("unknown key of 500,000 characters", call(w.a, http.MethodPost, "/Users", with(long(500000), 1)), accept(http.StatusCreated, w.createsUser(w.a, nil))),
		named("20,000 unknown keys", call(w.a, http.MethodPost, "/Users", manyKeys), accept(http.StatusCreated, w.createsUser(w.a, nil))),
		named("strict: unknown key of 500,000 characters", call(w.s, http.MethodPost, "/Users", with(long(500000), 1)), badSyntax),
	)
	return mark("huge", cases...)
}
