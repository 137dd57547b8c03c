package scimserver

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// A filtered or sorted listing decides on the stored users themselves
// (typed.go). What no binding reads there, a user's groups above all, it
// reads on a lean view: only the members of the SCIM representation a
// filter node or sortBy reads, written into one reused map. Rendering every
// user in full (JSON through the whole spec, and the groups of each) to
// keep a page of them cost ~3.5 KB and a membership lookup per user, 350 MB
// per request at 100,000 users; the page alone is rendered in full.

// userFields maps the lower-cased JSON name of each ScimUserSpec field to
// its JSON name and index.
var userFields = func() map[string]struct {
	name  string
	index int
} {
	out := map[string]struct {
		name  string
		index int
	}{}
	t := reflect.TypeFor[scimv1.ScimUserSpec]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[strings.ToLower(name)] = struct {
				name  string
				index int
			}{name, i}
		}
	}
	return out
}()

// leanUser writes into m the members keys names of u's SCIM representation,
// as userToSCIM and renderUser render them.
func (s *Server) leanUser(ctx context.Context, req *request, u *scimv1.ScimUser, keys []string, m map[string]any) error {
	spec := reflect.ValueOf(&u.Spec).Elem()
	for _, k := range keys {
		switch lk := strings.ToLower(k); lk {
		case "id":
			m["id"] = u.Name
		case "active":
			m["active"] = u.Spec.Active
		case "meta":
			m["meta"] = meta("User", &u.ObjectMeta, req.baseURL+"/Users/"+u.Name)
		case "groups":
			full, err := s.renderUser(ctx, req, u)
			if err != nil {
				return err
			}
			m["groups"] = full["groups"]
		case "schemas", strings.ToLower(schema.EnterpriseUserURN):
			full := userToSCIM(u, nil, req.baseURL)
			for _, key := range []string{"schemas", schema.EnterpriseUserURN} {
				if v, ok := full[key]; ok {
					m[key] = v
				}
			}
		case "endpoint", "enterprise":
			// Not members of the SCIM representation.
		default:
			f, ok := userFields[lk]
			if !ok {
				continue
			}
			v := spec.Field(f.index)
			if v.IsZero() {
				continue // omitempty, as the full rendering
			}
			switch x := v.Interface().(type) {
			case string:
				m[f.name] = x
			case *scimv1.Name:
				m[f.name] = nameView(x)
			case []scimv1.MultiValuedAttribute:
				m[f.name] = multiView(x)
			default:
				m[f.name] = toAny(x)
			}
		}
	}
	return nil
}

// leanGroup writes into m the members keys names of g's SCIM
// representation, as renderGroup renders it, with members only when keys
// name them.
func (s *Server) leanGroup(ctx context.Context, req *request, g *scimv1.ScimGroup, keys []string, m map[string]any) error {
	withMembers := slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, "members") })
	full, err := s.renderGroup(ctx, req, g, withMembers)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, v, ok := schema.Lookup(full, k); ok {
			m[k] = v
		}
	}
	return nil
}

// nameView is a Name as JSON decodes it, without the round trip.
func nameView(n *scimv1.Name) map[string]any {
	m := make(map[string]any, 6)
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("formatted", n.Formatted)
	set("familyName", n.FamilyName)
	set("givenName", n.GivenName)
	set("middleName", n.MiddleName)
	set("honorificPrefix", n.HonorificPrefix)
	set("honorificSuffix", n.HonorificSuffix)
	return m
}

// multiView is a multi-valued attribute as JSON decodes it, without the
// round trip.
func multiView(l []scimv1.MultiValuedAttribute) []any {
	out := make([]any, len(l))
	for i, a := range l {
		m := make(map[string]any, 4)
		if a.Value != "" {
			m["value"] = a.Value
		}
		if a.Display != "" {
			m["display"] = a.Display
		}
		if a.Type != "" {
			m["type"] = a.Type
		}
		if a.Primary {
			m["primary"] = true
		}
		out[i] = m
	}
	return out
}

// toAny is v as JSON decodes it: maps, slices, strings, float64s and bools.
func toAny(v any) any {
	data, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}
