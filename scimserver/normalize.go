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
