package scimserver

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

func (s *Server) listUsers(r *http.Request, req *request) (int, any, error) {
	p, e := parseListParams(r, userRT, req.ep.MaxPageSize)
	if e != nil {
		return 0, nil, e
	}
	f, err := s.parseFilter(userRT, p.filter)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var users []*scimv1.ScimUser
	switch field, value := candidateIndex(userRT, f); field {
	case "id":
		if u, err := s.store.GetUser(ctx, req.ep.Key, value); err == nil {
			users = []*scimv1.ScimUser{u}
		}
	default:
		if users, err = s.store.ListUsers(ctx, req.ep.Key, field, value); err != nil {
			return 0, nil, err
		}
	}
	body, err := page(ctx, userRT, p, f, len(users), func(i int) (map[string]any, error) {
		return s.renderUser(ctx, req, users[i])
	})
	return http.StatusOK, body, err
}

// parseFilter parses a filter parameter; an empty one means no filter.
func (s *Server) parseFilter(rt *schema.ResourceType, expr string) (*filter.Filter, error) {
	if expr == "" {
		return nil, nil
	}
	if len(expr) > s.opts.MaxFilterLength {
		return nil, errorf(http.StatusBadRequest, scimInvalidFilter, "the filter is longer than %d characters", s.opts.MaxFilterLength)
	}
	return filter.Parse(rt, expr)
}

// specEqual reports whether writing next would change nothing.
func specEqual(cur, next scimv1.ScimUserSpec, endpoint string) bool {
	next.Endpoint = endpoint
	return equality.Semantic.DeepEqual(cur, next)
}

// filterMentions reports whether a filter expression names attr (a cheap,
// conservative check used to decide whether members must be rendered).
func filterMentions(expr, attr string) bool {
	return strings.Contains(strings.ToLower(expr), strings.ToLower(attr))
}
