package scimserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/attrselect"
	"github.com/scim-operator/scim-operator/scimserver/patch"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

var userRT = schema.UserResourceType

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, req *request) {
	var (
		status int
		body   any
		err    error
		u      *scimv1.ScimUser
	)
	switch {
	case req.id == "" && r.Method == http.MethodGet:
		status, body, err = s.listUsers(r, req)
	case req.id == "" && r.Method == http.MethodPost:
		u, err = s.createUser(r, req)
		status = http.StatusCreated
	case req.id != "" && r.Method == http.MethodGet:
		u, err = s.store.GetUser(r.Context(), req.ep.Key, req.id)
		status = http.StatusOK
	case req.id != "" && r.Method == http.MethodPut:
		u, err = s.replaceUser(r, req)
		status = http.StatusOK
	case req.id != "" && r.Method == http.MethodPatch:
		u, err = s.patchUser(r, req)
		status = http.StatusOK
	case req.id != "" && r.Method == http.MethodDelete:
		err = s.deleteUser(r, req)
		status = http.StatusNoContent
	default:
		err = methodNotAllowed(r.Method, req.id)
	}
	if r.Method != http.MethodGet {
		id := req.id
		if u != nil {
			id = u.Name
		}
		s.auditWrite(r, req, "User", id, err)
	}
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	switch {
	case status == http.StatusNoContent:
		w.WriteHeader(status)
	case u != nil:
		res, gerr := s.renderUser(r.Context(), req, u)
		if gerr != nil {
			s.fail(w, r, req, gerr)
			return
		}
		w.Header().Set("ETag", etag(u.ResourceVersion))
		if status == http.StatusCreated {
			w.Header().Set("Location", req.baseURL+"/Users/"+u.Name)
		}
		q := r.URL.Query()
		writeJSON(w, status, attrselect.Select(userRT, res, attrList(q.Get("attributes")), attrList(q.Get("excludedAttributes"))))
	default:
		writeJSON(w, status, body)
	}
}

func (s *Server) listUsers(r *http.Request, req *request) (int, any, error) {
	p, e := parseListParams(r, userRT, req.ep.MaxPageSize)
	if e != nil {
		return 0, nil, e
	}
	f, err := s.parseFilter(userRT, p.filter, req.ep.Quirks)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	if unfiltered(p, f) {
		users, total, err := s.store.PageUsers(ctx, req.ep.Key, p.startIndex-1, p.count)
		if err != nil {
			return 0, nil, err
		}
		body, err := renderPage(ctx, userRT, p, 0, len(users), total, func(i int) (map[string]any, error) {
			return s.renderUser(ctx, req, users[i])
		})
		return http.StatusOK, body, err
	}
	view := func(u *scimv1.ScimUser, keys []string, m map[string]any) error {
		return s.leanUser(ctx, req, u, keys, m)
	}
	render := func(u *scimv1.ScimUser) (map[string]any, error) { return s.renderUser(ctx, req, u) }
	var users []*scimv1.ScimUser
	switch field, value := candidateIndex(userRT, f); field {
	case "":
		ord, err := ordering(userRT, p.sortBy, userBinder, func(key string, cmp func(a, b *scimv1.ScimUser) int) (*scimstore.Ordered[*scimv1.ScimUser], error) {
			return s.store.OrderedUsers(ctx, req.ep.Key, key, cmp)
		})
		if err != nil {
			return 0, nil, err
		}
		if ord != nil {
			body, err := orderedPage(ctx, userRT, p, f, ord, userBinder, view, render)
			return http.StatusOK, body, err
		}
		if users, err = s.store.ListUsers(ctx, req.ep.Key, "", ""); err != nil {
			return 0, nil, err
		}
	case "id":
		if u, err := s.store.GetUser(ctx, req.ep.Key, value); err == nil {
			users = []*scimv1.ScimUser{u}
		}
	default:
		if users, err = s.store.ListUsers(ctx, req.ep.Key, field, value); err != nil {
			return 0, nil, err
		}
	}
	body, err := leanPage(ctx, userRT, p, f, users, userBinder, view, render)
	return http.StatusOK, body, err
}

// renderUser renders a user with its groups.
func (s *Server) renderUser(ctx context.Context, req *request, u *scimv1.ScimUser) (map[string]any, error) {
	groups, err := s.store.GroupsOf(ctx, req.ep.Key, u.Name)
	if err != nil {
		return nil, err
	}
	refs := make([]memberRef, 0, len(groups))
	for _, g := range groups {
		refs = append(refs, memberRef{Value: g.Name, Ref: req.baseURL + "/Groups/" + g.Name, Display: g.Spec.DisplayName, Type: "direct"})
	}
	return userToSCIM(u, refs, req.baseURL), nil
}

// userFromBody reads and normalizes a User from the request body.
func (s *Server) userFromBody(r *http.Request, req *request) (map[string]any, error) {
	data, e := readBody(r, req.ep.Strict)
	if e != nil {
		return nil, e
	}
	raw, e := decodeResource(data)
	if e != nil {
		return nil, e
	}
	res, err := normalize(userRT, raw, req.ep.Quirks)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// userSpec maps a User onto a spec and checks the endpoint's rules on it:
// the userNamePattern and the catalog its roles must name (governRoles).
// cur is the user being replaced or patched (nil on create): a userName or
// a role the user already has is never refused, so a pattern added or a
// catalog entry deleted later cannot block the deactivation of an existing
// user.
func (s *Server) userSpec(ctx context.Context, req *request, res map[string]any, cur *scimv1.ScimUser) (scimv1.ScimUserSpec, error) {
	activeIfAbsent := cur == nil || cur.Spec.Active
	spec, e := userFromSCIM(res, activeIfAbsent)
	if e != nil {
		return spec, e
	}
	renamed := cur == nil || cur.Spec.UserName != spec.UserName
	if renamed && req.ep.UserNames != nil && !req.ep.UserNames.MatchString(spec.UserName) {
		return spec, errorf(http.StatusBadRequest, scimInvalidValue, "userName does not match the endpoint's userNamePattern")
	}
	var held []scimv1.MultiValuedAttribute
	if cur != nil {
		held = cur.Spec.Roles
	}
	return spec, s.governRoles(ctx, req, &spec, held)
}

func (s *Server) createUser(r *http.Request, req *request) (*scimv1.ScimUser, error) {
	res, err := s.userFromBody(r, req)
	if err != nil {
		return nil, err
	}
	spec, err := s.userSpec(r.Context(), req, res, nil)
	if err != nil {
		return nil, err
	}
	var u *scimv1.ScimUser
	err = s.createWithinQuota(r.Context(), req, &scimv1.ScimUser{}, req.ep.MaxUsers, "users", func() (err error) {
		u, err = s.store.CreateUser(r.Context(), req.ep.Key, spec)
		return err
	})
	return u, err
}

func (s *Server) replaceUser(r *http.Request, req *request) (*scimv1.ScimUser, error) {
	res, err := s.userFromBody(r, req)
	if err != nil {
		return nil, err
	}
	return s.updateWithRetry(r, req, true, func(cur *scimv1.ScimUser) (scimv1.ScimUserSpec, error) {
		return s.userSpec(r.Context(), req, res, cur)
	})
}

func (s *Server) patchUser(r *http.Request, req *request) (*scimv1.ScimUser, error) {
	data, e := readBody(r, req.ep.Strict)
	if e != nil {
		return nil, e
	}
	ops, err := patch.Decode(data, req.ep.Quirks)
	if err != nil {
		return nil, err
	}
	return s.updateWithRetry(r, req, sendsRoles(ops), func(cur *scimv1.ScimUser) (scimv1.ScimUserSpec, error) {
		res := userToSCIM(cur, nil, req.baseURL)
		delete(res, "groups")
		if err := patch.Apply(userRT, res, ops, patch.Options{Quirks: req.ep.Quirks}); err != nil {
			return scimv1.ScimUserSpec{}, err
		}
		return s.userSpec(r.Context(), req, res, cur)
	})
}

// sendsRoles reports whether a PATCH carries the user's roles: an operation
// whose path is roles or one of its elements, or a no-path value with roles.
func sendsRoles(ops []patch.Operation) bool {
	for _, op := range ops {
		path := strings.ToLower(op.Path)
		if path == "roles" || strings.HasPrefix(path, "roles[") || strings.HasPrefix(path, "roles.") {
			return true
		}
		if op.Path == "" {
			var value map[string]json.RawMessage
			if json.Unmarshal(op.Value, &value) == nil {
				for k := range value {
					if strings.EqualFold(k, "roles") {
						return true
					}
				}
			}
		}
	}
	return false
}

// updateWithRetry reads the user, computes its next spec and writes it. With
// If-Match the read version must match (else 412) and a concurrent write is
// 412 too; without it, a conflict re-reads the live object and tries again.
// rolesSent says the request carries the user's roles: a write that changes
// nothing is still made when it makes a reactivated user's roles current
// (RolesCurrent).
func (s *Server) updateWithRetry(r *http.Request, req *request, rolesSent bool, next func(*scimv1.ScimUser) (scimv1.ScimUserSpec, error)) (*scimv1.ScimUser, error) {
	ctx := r.Context()
	cur, err := s.store.GetUser(ctx, req.ep.Key, req.id)
	for attempt := 0; ; attempt++ {
		if err != nil {
			return nil, err
		}
		if e := checkIfMatch(r, cur.ResourceVersion); e != nil {
			return nil, e
		}
		spec, err := next(cur)
		if err != nil {
			return nil, err
		}
		if specEqual(cur.Spec, spec, req.ep.Key.Name) && (!rolesSent || cur.RolesCurrent()) {
			return cur, nil
		}
		u, err := s.store.UpdateUser(ctx, req.ep.Key, cur, spec, rolesSent)
		if err == nil || !apierrors.IsConflict(err) {
			return u, err
		}
		if r.Header.Get("If-Match") != "" {
			return nil, errorf(http.StatusPreconditionFailed, "", "the resource has changed (ETag mismatch)")
		}
		if attempt >= 5 {
			return nil, err
		}
		var lerr error
		if cur, lerr = s.store.LiveUser(ctx, req.ep.Key, req.id); lerr != nil {
			return nil, lerr
		}
	}
}

func (s *Server) deleteUser(r *http.Request, req *request) error {
	u, err := s.store.GetUser(r.Context(), req.ep.Key, req.id)
	if err != nil {
		return err
	}
	if e := checkIfMatch(r, u.ResourceVersion); e != nil {
		return e
	}
	return s.store.DeleteUser(r.Context(), req.ep.Key, u)
}

// specEqual reports whether writing next would change nothing.
func specEqual(cur, next scimv1.ScimUserSpec, endpoint string) bool {
	next.Endpoint = endpoint
	return equality.Semantic.DeepEqual(cur, next)
}
