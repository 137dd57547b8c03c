package scimserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/attrselect"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

var roleRT = schema.RoleResourceType

// serveRoles answers /Roles: the endpoint's catalog of ScimEntitlements,
// which Okta Identity Governance discovers through /ResourceTypes
// (docs/governance.md). Cluster administrators write the catalog; over
// SCIM it is read-only.
func (s *Server) serveRoles(w http.ResponseWriter, r *http.Request, req *request) {
	if r.Method != http.MethodGet {
		writeError(w, errorf(http.StatusMethodNotAllowed, "", "Roles is read-only: the catalog is written as ScimEntitlements"))
		return
	}
	ctx := r.Context()
	if req.id != "" {
		e, err := s.store.CatalogEntry(ctx, req.ep.Key, req.id)
		if err != nil {
			s.fail(w, r, req, err)
			return
		}
		q := r.URL.Query()
		writeJSON(w, http.StatusOK, attrselect.Select(roleRT, roleToSCIM(e, req.baseURL), attrList(q.Get("attributes")), attrList(q.Get("excludedAttributes"))))
		return
	}
	p, e := parseListParams(r, roleRT, req.ep.MaxPageSize)
	if e != nil {
		writeError(w, e)
		return
	}
	f, err := s.parseFilter(roleRT, p.filter, req.ep.Quirks)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	catalog, err := s.store.Catalog(ctx, req.ep.Key)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	body, err := page(ctx, roleRT, p, f, len(catalog), func(i int) (map[string]any, error) {
		return roleToSCIM(catalog[i], req.baseURL), nil
	})
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// roleToSCIM renders a catalog entry as a Role: its RoleID (its name, or
// "<namespace>.<name>" from another namespace) is the id a user's
// roles[].value names.
func roleToSCIM(e *scimv1.ScimEntitlement, baseURL string) map[string]any {
	id := e.RoleID()
	res := map[string]any{
		"schemas":     []string{schema.RoleURN},
		"id":          id,
		"displayName": e.Spec.DisplayName,
		"meta":        meta("Role", &e.ObjectMeta, baseURL+"/Roles/"+id),
	}
	if e.Spec.Description != "" {
		res["description"] = e.Spec.Description
	}
	return res
}

// governRoles checks a user's next roles against the endpoint's catalog and
// keeps each value once (the first element that carries it). Every value
// must name a catalog entry, except values the user already holds (held):
// deleting an entry must not block the user's deactivation or any other
// change the identity provider sends afterwards. A refusal is 400
// invalidValue naming the first unknown value, and nothing is stored.
func (s *Server) governRoles(ctx context.Context, req *request, spec *scimv1.ScimUserSpec, held []scimv1.MultiValuedAttribute) error {
	if len(spec.Roles) == 0 {
		spec.Roles = nil
		return nil
	}
	have := map[string]bool{}
	for _, r := range held {
		have[r.Value] = true
	}
	kept := spec.Roles[:0:0]
	seen := map[string]bool{}
	var fresh []string
	for _, r := range spec.Roles {
		if r.Value == "" {
			return errorf(http.StatusBadRequest, scimInvalidValue, "every role needs a value: the id of an entry of /Roles")
		}
		if seen[r.Value] {
			continue
		}
		seen[r.Value] = true
		kept = append(kept, r)
		if !have[r.Value] {
			fresh = append(fresh, r.Value)
		}
	}
	spec.Roles = kept
	unknown, err := s.store.UnknownRoles(ctx, req.ep.Key, fresh)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		more := ""
		if len(unknown) > 1 {
			more = " (and " + strconv.Itoa(len(unknown)-1) + " more)"
		}
		return errorf(http.StatusBadRequest, scimInvalidValue, "roles value %s%s is not the id of an entry of this endpoint's /Roles",
			roleValueForError(unknown[0]), more)
	}
	return nil
}

// roleValueForError quotes a role value in an error detail when it could be
// a catalog id (a Kubernetes object name), which is no personal data; any
// other value is not repeated.
func roleValueForError(v string) string {
	if len(v) <= 127 && len(validation.IsDNS1123Subdomain(v)) == 0 && !strings.Contains(v, "..") {
		return strconv.Quote(v)
	}
	return "(a value that cannot be a catalog id, not shown)"
}
