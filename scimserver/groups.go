package scimserver

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/attrselect"
	"github.com/scim-operator/scim-operator/scimserver/patch"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

var groupRT = schema.GroupResourceType

func (s *Server) serveGroups(w http.ResponseWriter, r *http.Request, req *request) {
	var (
		status = http.StatusOK
		body   any
		err    error
		g      *scimv1.ScimGroup
	)
	switch {
	case req.id == "" && r.Method == http.MethodGet:
		body, err = s.listGroups(r, req)
	case req.id == "" && r.Method == http.MethodPost:
		g, err = s.createGroup(r, req)
		status = http.StatusCreated
	case req.id != "" && r.Method == http.MethodGet:
		g, err = s.store.GetGroup(r.Context(), req.ep.Key, req.id)
	case req.id != "" && r.Method == http.MethodPut:
		g, err = s.replaceGroup(r, req)
	case req.id != "" && r.Method == http.MethodPatch:
		g, err = s.patchGroup(r, req)
		// RFC 7644 §3.5.2 lets a PATCH answer 204, as Okta and Entra ID
		// expect of groups: answering a member change of a 100,000-member
		// group with all its members would cost megabytes per request.
		// A client that asks for attributes gets them.
		if q := r.URL.Query(); !q.Has("attributes") && !q.Has("excludedAttributes") {
			status = http.StatusNoContent
		}
	case req.id != "" && r.Method == http.MethodDelete:
		err = s.deleteGroup(r, req)
		status = http.StatusNoContent
	default:
		err = methodNotAllowed(r.Method, req.id)
	}
	if r.Method != http.MethodGet {
		id := req.id
		if g != nil {
			id = g.Name
		}
		s.auditWrite(r, req, "Group", id, err)
	}
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	switch {
	case status == http.StatusNoContent:
		if g != nil {
			w.Header().Set("ETag", etag(g.ResourceVersion))
		}
		w.WriteHeader(status)
	case g != nil:
		q := r.URL.Query()
		attrs, excl := attrList(q.Get("attributes")), attrList(q.Get("excludedAttributes"))
		res, rerr := s.renderGroup(r.Context(), req, g, wantsMembers(attrs, excl))
		if rerr != nil {
			s.fail(w, r, req, rerr)
			return
		}
		w.Header().Set("ETag", etag(g.ResourceVersion))
		if status == http.StatusCreated {
			w.Header().Set("Location", req.baseURL+"/Groups/"+g.Name)
		}
		writeJSON(w, status, attrselect.Select(groupRT, res, attrs, excl))
	default:
		writeJSON(w, status, body)
	}
}

// wantsMembers reports whether a response includes members, so that
// excludedAttributes=members costs nothing however large the group is.
func wantsMembers(attrs, excl []string) bool {
	for _, a := range excl {
		if p, err := groupRT.Resolve(a); err == nil && p.Attr.Name == "members" && p.Sub == nil {
			return false
		}
	}
	if len(attrs) == 0 {
		return true
	}
	for _, a := range attrs {
		if p, err := groupRT.Resolve(a); err == nil && p.Attr.Name == "members" {
			return true
		}
	}
	return false
}

// renderGroup renders a group, with its members when withMembers.
func (s *Server) renderGroup(ctx context.Context, req *request, g *scimv1.ScimGroup, withMembers bool) (map[string]any, error) {
	if !withMembers {
		return groupToSCIM(g, nil, req.baseURL), nil
	}
	members, err := s.store.Members(ctx, req.ep.Key, g.Name)
	if err != nil {
		return nil, err
	}
	refs := make([]memberRef, 0, len(members))
	for i, m := range members {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ref := memberRef{Value: m.Value, Type: m.Kind()}
		if ref.Type == "Group" {
			ref.Ref = req.baseURL + "/Groups/" + m.Value
			if mg, err := s.store.GetGroup(ctx, req.ep.Key, m.Value); err == nil {
				ref.Display = mg.Spec.DisplayName
			}
		} else {
			ref.Ref = req.baseURL + "/Users/" + m.Value
			if u, err := s.store.GetUser(ctx, req.ep.Key, m.Value); err == nil {
				ref.Display = u.Spec.DisplayName
				if ref.Display == "" {
					ref.Display = u.Spec.UserName
				}
			}
		}
		refs = append(refs, ref)
	}
	return groupToSCIM(g, refs, req.baseURL), nil
}

func (s *Server) listGroups(r *http.Request, req *request) (any, error) {
	p, e := parseListParams(r, groupRT, req.ep.MaxPageSize)
	if e != nil {
		return nil, e
	}
	f, err := s.parseFilter(groupRT, p.filter, req.ep.Quirks)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	withMembers := wantsMembers(p.attributes, p.exclude) || (f != nil && filterMentions(p.filter, "members"))
	if unfiltered(p, f) {
		groups, total, err := s.store.PageGroups(ctx, req.ep.Key, p.startIndex-1, p.count)
		if err != nil {
			return nil, err
		}
		return renderPage(ctx, groupRT, p, 0, len(groups), total, func(i int) (map[string]any, error) {
			return s.renderGroup(ctx, req, groups[i], withMembers)
		})
	}
	view := func(g *scimv1.ScimGroup, keys []string, m map[string]any) error {
		return s.leanGroup(ctx, req, g, keys, m)
	}
	render := func(g *scimv1.ScimGroup) (map[string]any, error) { return s.renderGroup(ctx, req, g, withMembers) }
	var groups []*scimv1.ScimGroup
	switch field, value := candidateIndex(groupRT, f); field {
	case "":
		ord, err := ordering(groupRT, p.sortBy, groupBinder, func(key string, cmp func(a, b *scimv1.ScimGroup) int) (*scimstore.Ordered[*scimv1.ScimGroup], error) {
			return s.store.OrderedGroups(ctx, req.ep.Key, key, cmp)
		})
		if err != nil {
			return nil, err
		}
		if ord != nil {
			return orderedPage(ctx, groupRT, p, f, ord, groupBinder, view, render)
		}
		if groups, err = s.store.ListGroups(ctx, req.ep.Key, "", ""); err != nil {
			return nil, err
		}
	case "id":
		if g, err := s.store.GetGroup(ctx, req.ep.Key, value); err == nil {
			groups = []*scimv1.ScimGroup{g}
		}
	default:
		if groups, err = s.store.ListGroups(ctx, req.ep.Key, field, value); err != nil {
			return nil, err
		}
	}
	return leanPage(ctx, groupRT, p, f, groups, groupBinder, view, render)
}

func (s *Server) groupFromBody(r *http.Request, req *request) (scimv1.ScimGroupSpec, []string, error) {
	data, e := readBody(r, req.ep.Strict)
	if e != nil {
		return scimv1.ScimGroupSpec{}, nil, e
	}
	raw, e := decodeResource(data)
	if e != nil {
		return scimv1.ScimGroupSpec{}, nil, e
	}
	res, err := normalize(groupRT, raw, req.ep.Quirks)
	if err != nil {
		return scimv1.ScimGroupSpec{}, nil, err
	}
	spec, members, e := groupFromSCIM(res)
	if e != nil {
		return spec, nil, e
	}
	return spec, members, nil
}

func (s *Server) createGroup(r *http.Request, req *request) (*scimv1.ScimGroup, error) {
	spec, members, err := s.groupFromBody(r, req)
	if err != nil {
		return nil, err
	}
	kinds, err := s.store.MemberKinds(r.Context(), req.ep.Key, "", []scimstore.MemberChange{{Kind: scimstore.MemberAdd, IDs: members}})
	if err != nil {
		return nil, err
	}
	var g *scimv1.ScimGroup
	err = s.createWithinQuota(r.Context(), req, &scimv1.ScimGroup{}, req.ep.MaxGroups, "groups", func() (err error) {
		g, err = s.store.CreateGroup(r.Context(), req.ep.Key, spec, members, kinds)
		return err
	})
	return g, err
}

func (s *Server) replaceGroup(r *http.Request, req *request) (*scimv1.ScimGroup, error) {
	spec, members, err := s.groupFromBody(r, req)
	if err != nil {
		return nil, err
	}
	var changes []scimstore.MemberChange
	if members != nil {
		changes = []scimstore.MemberChange{{Kind: scimstore.MemberReplace, IDs: members}}
	}
	return s.updateGroup(r, req, func(*scimv1.ScimGroup) (scimv1.ScimGroupSpec, []scimstore.MemberChange, error) {
		return spec, changes, nil
	})
}

func (s *Server) patchGroup(r *http.Request, req *request) (*scimv1.ScimGroup, error) {
	data, e := readBody(r, req.ep.Strict)
	if e != nil {
		return nil, e
	}
	opts := patch.Options{Quirks: req.ep.Quirks}
	ops, err := patch.Decode(data, req.ep.Quirks)
	if err != nil {
		return nil, err
	}
	memberOps, rest, err := patch.SplitMembers(groupRT, ops, opts)
	if err != nil {
		return nil, err
	}
	changes := make([]scimstore.MemberChange, 0, len(memberOps))
	for _, op := range memberOps {
		switch op.Kind {
		case patch.MemberAdd:
			changes = append(changes, scimstore.MemberChange{Kind: scimstore.MemberAdd, IDs: op.Values})
		case patch.MemberRemove:
			changes = append(changes, scimstore.MemberChange{Kind: scimstore.MemberRemove, IDs: op.Values})
		case patch.MemberReplace:
			changes = append(changes, scimstore.MemberChange{Kind: scimstore.MemberReplace, IDs: op.Values})
		case patch.MemberRemoveAll:
			changes = append(changes, scimstore.MemberChange{Kind: scimstore.MemberReplace})
		}
	}
	return s.updateGroup(r, req, func(cur *scimv1.ScimGroup) (scimv1.ScimGroupSpec, []scimstore.MemberChange, error) {
		if len(rest) == 0 {
			return cur.Spec, changes, nil
		}
		res := groupToSCIM(cur, nil, req.baseURL)
		if err := patch.Apply(groupRT, res, rest, opts); err != nil {
			return scimv1.ScimGroupSpec{}, nil, err
		}
		delete(res, "members")
		spec, _, e := groupFromSCIM(res)
		if e != nil {
			return spec, nil, e
		}
		return spec, changes, nil
	})
}

// updateGroup writes a group's attributes (retrying conflicts unless If-Match
// was given) and then its member changes.
func (s *Server) updateGroup(r *http.Request, req *request,
	next func(*scimv1.ScimGroup) (scimv1.ScimGroupSpec, []scimstore.MemberChange, error)) (*scimv1.ScimGroup, error) {
	ctx := r.Context()
	cur, err := s.store.GetGroup(ctx, req.ep.Key, req.id)
	var kinds map[string]string // the members' kinds, resolved once
	for attempt := 0; ; attempt++ {
		if err != nil {
			return nil, err
		}
		if e := checkIfMatch(r, cur.ResourceVersion); e != nil {
			return nil, e
		}
		spec, changes, err := next(cur)
		if err != nil {
			return nil, err
		}
		// Checked before anything is written, so a PATCH or PUT naming
		// a member that cannot be changes nothing, not even the
		// displayName it also carries (RFC 7644 §3.5.2: PATCH is atomic).
		if kinds == nil {
			if kinds, err = s.store.MemberKinds(ctx, req.ep.Key, req.id, changes); err != nil {
				return nil, err
			}
		}
		g, err := s.store.UpdateGroup(ctx, req.ep.Key, cur, spec)
		if err == nil {
			if len(changes) > 0 {
				return s.store.ApplyMembers(ctx, req.ep.Key, g, changes, kinds)
			}
			return g, nil
		}
		if !apierrors.IsConflict(err) {
			return nil, err
		}
		if r.Header.Get("If-Match") != "" {
			return nil, errorf(http.StatusPreconditionFailed, "", "the resource has changed (ETag mismatch)")
		}
		if attempt >= 5 {
			return nil, err
		}
		var lerr error
		if cur, lerr = s.store.LiveGroup(ctx, req.ep.Key, req.id); lerr != nil {
			return nil, lerr
		}
	}
}

func (s *Server) deleteGroup(r *http.Request, req *request) error {
	g, err := s.store.GetGroup(r.Context(), req.ep.Key, req.id)
	if err != nil {
		return err
	}
	if e := checkIfMatch(r, g.ResourceVersion); e != nil {
		return e
	}
	return s.store.DeleteGroup(r.Context(), req.ep.Key, g)
}
