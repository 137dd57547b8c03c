package faults

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestHostileRegressions holds one minimal test per server bug the hostile
// corpus found, so each reads on its own.
func TestHostileRegressions(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ep := op.NewEndpoint(t, testharness.UniqueName("faults-regressions"), "idp")
	send := func(t *testing.T, r rawRequest) reply {
		t.Helper()
		res, err := exchange(op.Addr, r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	users := func(t *testing.T, e *testharness.Endpoint, filter string) float64 {
		t.Helper()
		res := send(t, call(e, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), nil))
		total, ok := jsonBody(res)["totalResults"].(float64)
		if res.Status != http.StatusOK || !ok {
			t.Fatalf("listing users: %d %s", res.Status, snippet(res.Body))
		}
		return total
	}

	// Two Authorization fields are ambiguous (RFC 9110 §5.3); the server
	// used the first and let the request through when it was valid.
	t.Run("two Authorization fields authenticate as nobody", func(t *testing.T) {
		list := call(ep, http.MethodGet, "/Users", nil)
		if r := send(t, list); r.Status != http.StatusOK {
			t.Fatalf("one valid field: %d", r.Status)
		}
		for _, values := range [][]string{
			{"Bearer " + ep.Token, "Bearer not-the-token-at-all"},
			{"Bearer " + ep.Token, "Bearer " + ep.Token},
		} {
			if r := send(t, list.withHeader("Authorization", values...)); r.Status != http.StatusUnauthorized {
				t.Errorf("Authorization %q: %d, want 401", values, r.Status)
			}
		}
	})

	// encoding/json replaces invalid UTF-8 with U+FFFD: the server stored a
	// userName the IdP never sent.
	t.Run("a body that is not UTF-8 is refused", func(t *testing.T) {
		body := `{"schemas": ["` + userURN + `"], "userName": "utf8-` + "\xff" + `@example.com"}`
		r := send(t, call(ep, http.MethodPost, "/Users", body))
		if r.Status != http.StatusBadRequest || scimType(r) != "invalidSyntax" {
			t.Errorf("POST with invalid UTF-8: %d %s, want 400 invalidSyntax", r.Status, snippet(r.Body))
		}
		if n := users(t, ep, `userName eq "utf8-`+"\uFFFD"+`@example.com"`); n != 0 {
			t.Errorf("a user with a replaced character was stored")
		}
	})

	// Strict mode ("rejects anything RFC 7644 does not allow") accepted any
	// "schemas", even none or the Group schema on a User.
	t.Run("the strict endpoint checks schemas", func(t *testing.T) {
		strict := op.NewEndpoint(t, ep.Namespace, "strict", func(e *scimv1.ScimEndpoint) {
			e.Spec.Compatibility = scimv1.CompatibilityStrict
		})
		for i, schemas := range [][]any{nil, {}, {groupURN}, {userURN, "urn:example:unknown"}} {
			b := userBody(fmt.Sprintf("schemas-%d@example.com", i), "")
			delete(b, "schemas")
			if schemas != nil {
				b["schemas"] = schemas
			}
			if r := send(t, call(strict, http.MethodPost, "/Users", b)); r.Status != http.StatusBadRequest || scimType(r) != "invalidSyntax" {
				t.Errorf("schemas %v: %d %s, want 400 invalidSyntax", schemas, r.Status, snippet(r.Body))
			}
		}
		b := userBody("schemas@example.com", "")
		b["schemas"] = []any{userURN, enterpriseURN}
		b[enterpriseURN] = map[string]any{"department": "R&D"}
		if r := send(t, call(strict, http.MethodPost, "/Users", b)); r.Status != http.StatusCreated {
			t.Errorf("well-formed strict create: %d %s", r.Status, snippet(r.Body))
		}
	})

	// userName is unique case-insensitively. A rename is detected with
	// strings.EqualFold but claims are keyed by strings.ToLower; the two
	// disagree for letters such as U+017F (ſ, which folds to s): renaming
	// "ross" to "roſſ" keeps the claim on "ross", and "roſſ" can then be
	// created a second time.
	t.Run("a rename under Unicode case folding keeps userName unique", func(t *testing.T) {
		created := send(t, call(ep, http.MethodPost, "/Users", userBody("ross@example.com", "")))
		id, _ := jsonBody(created)["id"].(string)
		if created.Status != http.StatusCreated || id == "" {
			t.Fatalf("creating ross: %d %s", created.Status, snippet(created.Body))
		}
		if r := send(t, call(ep, http.MethodPut, "/Users/"+id, userBody("ro\u017f\u017f@example.com", ""))); r.Status != http.StatusOK {
			t.Fatalf("renaming: %d %s", r.Status, snippet(r.Body))
		}
		r := send(t, call(ep, http.MethodPost, "/Users", userBody("ro\u017f\u017f@example.com", "")))
		if r.Status != http.StatusConflict {
			t.Errorf("creating the renamed userName again: %d, want 409 uniqueness; users named so: %v",
				r.Status, users(t, ep, `userName eq "ro`+"\u017f\u017f"+`@example.com"`))
		}
	})
}
