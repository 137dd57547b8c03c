package scimserver

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// normalize rewrites a decoded SCIM resource into canonical form: attribute
// names in the schema's spelling, extension attributes under their URN,
// null values dropped. In lenient mode it also accepts the shapes identity
// providers really send: booleans as strings ("True"), numbers where strings
// belong, and Entra's enterprise manager as a plain id string. Unknown
// attributes are dropped in lenient mode and refused in strict mode. Keys
// are visited in sorted order and, when several spell one attribute in
// different case, the smallest wins (as in schema.Lookup), so the result never
// depends on map iteration order.
func normalize(rt *schema.ResourceType, in map[string]any, strict bool) (map[string]any, *Error) {
	if strict {
		if err := checkSchemas(rt, in); err != nil {
			return nil, err
		}
	}
	out := map[string]any{}
	for _, k := range sortedKeys(in) {
		v := in[k]
		if v == nil {
			continue
		}
		if strings.EqualFold(k, "schemas") {
			out["schemas"] = v
			continue
		}
		if ext := rt.Extension(k); ext != nil {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, errorf(http.StatusBadRequest, scimInvalidValue, "%s must be an object", ext.ID)
			}
			norm, err := normalizeAttrs(ext.Attributes, obj, strict, ext.ID)
			if err != nil {
				return nil, err
			}
			mergeInto(out, ext.ID, norm)
			continue
		}
		// A URN-prefixed attribute name (urn:...:User:department) at the top level.
		if strings.HasPrefix(strings.ToLower(k), "urn:") {
			p, err := rt.Resolve(k)
			if err != nil || p.Sub != nil {
				if strict {
					return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "unknown attribute %q", k)
				}
				continue
			}
			nv, e := normalizeValue(p.Attr, v, strict)
			if e != nil {
				return nil, e
			}
			if p.Extension(rt) {
				mergeInto(out, p.URN, map[string]any{p.Attr.Name: nv})
			} else if _, dup := out[p.Attr.Name]; !dup {
				out[p.Attr.Name] = nv
			}
			continue
		}
		attr := schema.CommonAttr(k)
		if attr == nil {
			attr = rt.Schema.Attr(k)
		}
		if attr == nil {
			if strict {
				return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "unknown attribute %q", k)
			}
			continue
		}
		if _, dup := out[attr.Name]; dup {
			continue
		}
		nv, err := normalizeValue(attr, v, strict)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[attr.Name] = nv
		}
	}
	return out, nil
}

// checkSchemas enforces RFC 7643 §3 and §3.3 in strict mode: "schemas" is a
// non-empty list of distinct URIs, naming the resource type's core schema and
// only extensions it has, and listing every extension the body carries
// attributes of. Lenient mode does not look at it: identity providers list
// custom extension URNs there, and the body is read as the resource type its
// URL names whatever it declares.
func checkSchemas(rt *schema.ResourceType, in map[string]any) *Error {
	invalid := func(detail string) *Error { return errorf(http.StatusBadRequest, scimInvalidSyntax, "%s", detail) }
	var declared []any
	found := false
	for k, v := range in {
		if strings.EqualFold(k, "schemas") {
			if found {
				return invalid("schemas appears more than once")
			}
			declared, found = v.([]any)
			if !found {
				return invalid("schemas must be an array of schema URIs")
			}
		}
	}
	if len(declared) == 0 {
		return invalid("schemas must list the resource's schema URIs")
	}
	listed := map[string]bool{}
	for _, el := range declared {
		urn, ok := el.(string)
		if !ok {
			return invalid("schemas must be an array of schema URIs")
		}
		key := strings.ToLower(urn)
		if listed[key] {
			return invalid("schemas lists a URI more than once")
		}
		listed[key] = true
		if !strings.EqualFold(urn, rt.Schema.ID) && rt.Extension(urn) == nil {
			return invalid("schemas names a schema that is not " + rt.Schema.ID + " or one of its extensions")
		}
	}
	if !listed[strings.ToLower(rt.Schema.ID)] {
		return invalid("schemas must include " + rt.Schema.ID)
	}
	for k := range in {
		for _, ext := range rt.Extensions {
			if len(k) >= len(ext.ID) && strings.EqualFold(k[:len(ext.ID)], ext.ID) && !listed[strings.ToLower(ext.ID)] {
				return invalid("attributes of " + ext.ID + " are sent but schemas does not list it")
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mergeInto(out map[string]any, urn string, attrs map[string]any) {
	cur, _ := out[urn].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
		out[urn] = cur
	}
	for k, v := range attrs {
		cur[k] = v
	}
}

func normalizeAttrs(attrs []*schema.Attribute, in map[string]any, strict bool, where string) (map[string]any, *Error) {
	out := map[string]any{}
	for _, k := range sortedKeys(in) {
		v := in[k]
		if v == nil {
			continue
		}
		var attr *schema.Attribute
		for _, a := range attrs {
			if strings.EqualFold(a.Name, k) {
				attr = a
			}
		}
		if attr == nil {
			if strict {
				return nil, errorf(http.StatusBadRequest, scimInvalidSyntax, "unknown attribute %q in %s", k, where)
			}
			continue
		}
		if _, dup := out[attr.Name]; dup {
			continue
		}
		nv, err := normalizeValue(attr, v, strict)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[attr.Name] = nv
		}
	}
	return out, nil
}

func normalizeValue(attr *schema.Attribute, v any, strict bool) (any, *Error) {
	if attr.MultiValued {
		list, ok := v.([]any)
		if !ok {
			if strict {
				return nil, errorf(http.StatusBadRequest, scimInvalidValue, "%s must be an array", attr.Name)
			}
			list = []any{v}
		}
		single := *attr
		single.MultiValued = false
		out := make([]any, 0, len(list))
		for _, el := range list {
			if el == nil {
				continue
			}
			nv, err := normalizeValue(&single, el, strict)
			if err != nil {
				return nil, err
			}
			out = append(out, nv)
		}
		onePrimary(out)
		return out, nil
	}
	switch attr.Type {
	case schema.Complex:
		obj, ok := v.(map[string]any)
		if !ok {
			// Entra sends the enterprise manager as a bare id.
			if s, isStr := v.(string); isStr && !strict && attr.Sub("value") != nil {
				return map[string]any{"value": s}, nil
			}
			return nil, errorf(http.StatusBadRequest, scimInvalidValue, "%s must be an object", attr.Name)
		}
		return normalizeAttrs(attr.SubAttributes, obj, strict, attr.Name)
	case schema.Boolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if !strict {
				if parsed, err := strconv.ParseBool(strings.ToLower(b)); err == nil {
					return parsed, nil
				}
			}
		}
		return nil, errorf(http.StatusBadRequest, scimInvalidValue, "%s must be a boolean", attr.Name)
	default:
		switch s := v.(type) {
		case string:
			return s, nil
		case json.Number:
			if !strict {
				return s.String(), nil
			}
		case float64:
			if !strict {
				return strconv.FormatFloat(s, 'f', -1, 64), nil
			}
		case bool:
			if !strict {
				return strconv.FormatBool(s), nil
			}
		}
		return nil, errorf(http.StatusBadRequest, scimInvalidValue, "%s must be a string", attr.Name)
	}
}

// onePrimary leaves "primary" true only on the last element that sets it:
// RFC 7643 §2.4 allows one primary value, and PATCH resolves the same way.
func onePrimary(list []any) {
	last := -1
	for i, el := range list {
		if m, ok := el.(map[string]any); ok && m["primary"] == true {
			last = i
		}
	}
	for i, el := range list {
		if m, ok := el.(map[string]any); ok && m["primary"] == true && i != last {
			m["primary"] = false
		}
	}
}
