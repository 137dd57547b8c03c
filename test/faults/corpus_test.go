package faults

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// corpus builds every request of TestHostileInput, in the order sent.
// Requests expected to succeed come last in their class, so that refusals
// are checked against the seeded state. "control" cases are well-formed
// twins of hostile templates: they must succeed, which shows the refusals
// are about the hostile part and not the template.
func (w *world) corpus() []hostileCase {
	var all []hostileCase
	for _, gen := range []func() []hostileCase{
		w.authCases, w.enumerationCases, w.methodCases, w.transportCases,
		w.pathCases, w.foreignIDCases,
		w.syntaxCases, w.nestingCases, w.typeCases, w.hugeCases, w.oversizeCases,
		w.contentTypeCases, w.schemaCases,
		w.massAssignmentCases, w.uniquenessCases, w.patchCases,
		w.filterCases, w.listParamCases,
		w.controlCases,
	} {
		all = append(all, gen()...)
	}
	return all
}

// liveUser reads a user from the API server.
func (w *world) liveUser(ns, name string) (*scimv1.ScimUser, error) {
	var u scimv1.ScimUser
	err := w.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &u)
	return &u, err
}

// createsUser checks that a request created exactly one ScimUser, named
// after its userName (no claim needed), in e's namespace, that the response
// names it, and that the stored user passes check.
func (w *world) createsUser(e *testharness.Endpoint, check func(u *scimv1.ScimUser) string) func(reply, delta) string {
	return func(r reply, d delta) string {
		users := d.addedOf("ScimUser")
		if len(users) != 1 || len(d.Added) != 1 || len(d.Removed)+len(d.Changed) > 0 {
			return "want exactly one new ScimUser, got: " + d.String()
		}
		if users[0].Namespace != e.Namespace {
			return "created in the wrong namespace: " + d.String()
		}
		if id, _ := jsonBody(r)["id"].(string); id != users[0].Name {
			return fmt.Sprintf("response id %q, stored %q", id, users[0].Name)
		}
		u, err := w.liveUser(users[0].Namespace, users[0].Name)
		if err != nil {
			return err.Error()
		}
		if u.Spec.Endpoint != e.Name || u.Labels[scimv1.LabelEndpoint] != e.Name || len(u.Finalizers) > 0 {
			return fmt.Sprintf("stored user belongs to endpoint %q (label %q), finalizers %v", u.Spec.Endpoint, u.Labels[scimv1.LabelEndpoint], u.Finalizers)
		}
		if check != nil {
			return check(u)
		}
		return ""
	}
}

// createsGroup checks that a request created exactly one ScimGroup, with no
// members, in e's namespace.
func (w *world) createsGroup(e *testharness.Endpoint) func(reply, delta) string {
	return func(r reply, d delta) string {
		groups := d.addedOf("ScimGroup")
		if len(groups) != 1 || len(d.Added) != 1 || len(d.Removed)+len(d.Changed) > 0 {
			return "want exactly one new ScimGroup, got: " + d.String()
		}
		if groups[0].Namespace != e.Namespace {
			return "created in the wrong namespace: " + d.String()
		}
		if id, _ := jsonBody(r)["id"].(string); id != groups[0].Name {
			return fmt.Sprintf("response id %q, stored %q", id, groups[0].Name)
		}
		return ""
	}
}

// unchanged checks a 2xx that must not have written anything.
func unchanged(_ reply, d delta) string {
	if !d.empty() {
		return "stored state changed: " + d.String()
	}
	return ""
}

// changesOnly checks that exactly the given objects were updated.
func changesOnly(keys ...objectKey) func(reply, delta) string {
	return func(_ reply, d delta) string {
		if len(d.Added)+len(d.Removed) > 0 || !slices.Equal(d.Changed, keys) {
			return fmt.Sprintf("want only %v changed, got: %s", keys, d.String())
		}
		return ""
	}
}

// emptyList checks a 200 ListResponse with no results and no state change.
func emptyList(r reply, d delta) string {
	if !d.empty() {
		return "stored state changed: " + d.String()
	}
	body := jsonBody(r)
	if schemas, _ := body["schemas"].([]any); !slices.Contains(schemas, any(listURN)) {
		return "not a ListResponse: " + snippet(r.Body)
	}
	if body["totalResults"] != float64(0) {
		return fmt.Sprintf("totalResults %v, want 0: %s", body["totalResults"], snippet(r.Body))
	}
	return ""
}

// listWithout checks a 200 ListResponse, no state change, and that the body
// mentions none of the forbidden strings (ids or values of other endpoints).
func listWithout(forbidden ...string) func(reply, delta) string {
	return func(r reply, d delta) string {
		if !d.empty() {
			return "stored state changed: " + d.String()
		}
		if schemas, _ := jsonBody(r)["schemas"].([]any); !slices.Contains(schemas, any(listURN)) {
			return "not a ListResponse: " + snippet(r.Body)
		}
		for _, f := range forbidden {
			if strings.Contains(string(r.Body), f) {
				return fmt.Sprintf("response leaks %q", f)
			}
		}
		return ""
	}
}

// userKey names a seeded user's ScimUser object.
func (w *world) userKey(e *testharness.Endpoint, handle string) objectKey {
	return objectKey{"ScimUser", e.Namespace, w.id(handle)}
}

// mark labels cases with a class.
func mark(class string, cases ...hostileCase) []hostileCase {
	for i := range cases {
		cases[i].class = class
	}
	return cases
}

// named is a case without a class yet.
func named(name string, req rawRequest, want outcome) hostileCase {
	return hostileCase{name: name, req: req, want: want}
}

// The refusals most classes expect (values, never modified).
var (
	badSyntax = refuse(http.StatusBadRequest, "invalidSyntax")
	badValue  = refuse(http.StatusBadRequest, "invalidValue")
	tooMany   = refuse(http.StatusBadRequest, "tooMany")
	notFound  = refuse(http.StatusNotFound, "")
	noAuth    = refuse(http.StatusUnauthorized, "")
)
