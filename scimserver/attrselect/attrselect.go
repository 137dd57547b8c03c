// Package attrselect applies the attributes and excludedAttributes query
// parameters (RFC 7644 §3.9) to the JSON representation of a resource, and
// enforces the schema's "returned" characteristic: Entra ID asks for groups
// with excludedAttributes=members, and a password is never returned.
package attrselect

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// Select returns a new map holding the attributes of res a response may
// show. attributes and excluded are the comma-separated parameter values,
// already split by the caller.
//
//   - "schemas" and attributes returned "always" (id) are always kept;
//     attributes returned "never" (password) never appear.
//   - Without attributes, every attribute returned "default" is kept;
//     "request" ones only when named in attributes. With attributes, only the
//     named ones are kept; naming an attribute keeps all its sub-attributes,
//     naming "name.givenName" keeps only that sub-attribute.
//   - excluded is then removed, whether or not attributes was given.
//   - Keys come out in the schema's canonical case. Extension objects that
//     end up empty are dropped and their URN removed from "schemas".
//   - Keys that are not schema attributes are kept only without attributes.
//
// res is not modified and shares no maps or slices with the result.
func Select(rt *schema.ResourceType, res map[string]any, attributes, excluded []string) map[string]any {
	include := newSelector(rt, attributes)
	p := picker{include: include, exclude: newSelector(rt, excluded), selective: len(include) > 0}
	out := map[string]any{}
	known := map[string]bool{"schemas": true}
	attrs := append(schema.Common(), rt.Schema.Attributes...)
	p.copyAttrs(out, res, attrs, known)
	var present []string
	for _, ext := range rt.Extensions {
		known[strings.ToLower(ext.ID)] = true
		_, v, _ := schema.Lookup(res, ext.ID)
		m, _ := v.(map[string]any)
		obj := map[string]any{}
		p.copyAttrs(obj, m, ext.Attributes, nil)
		if len(obj) > 0 {
			out[ext.ID] = obj
			present = append(present, ext.ID)
		}
	}
	if !p.selective {
		for k, v := range res {
			if !known[strings.ToLower(k)] {
				out[k] = schema.DeepCopy(v)
			}
		}
	}
	out["schemas"] = schemas(rt, res, present)
	return out
}

type picker struct {
	include, exclude selector
	selective        bool
}

// copyAttrs copies the kept attributes of src into dst, recording their
// lower-cased names in known when known is not nil.
func (p picker) copyAttrs(dst, src map[string]any, attrs []*schema.Attribute, known map[string]bool) {
	for _, attr := range attrs {
		if known != nil {
			known[strings.ToLower(attr.Name)] = true
		}
		_, v, ok := schema.Lookup(src, attr.Name)
		if !ok || v == nil || !p.keeps(attr) {
			continue
		}
		if v = p.value(attr, v); v != nil {
			dst[attr.Name] = v
		}
	}
}

func (p picker) keeps(attr *schema.Attribute) bool {
	switch {
	case attr.Returned == schema.ReturnedNever:
		return false
	case attr.Returned == schema.ReturnedAlways:
		return true
	case p.exclude[attr] != nil && p.exclude[attr].all:
		return false
	case p.selective:
		return p.include[attr] != nil
	}
	return attr.Returned != schema.ReturnedRequest
}

// keepsSub decides for one sub-attribute of a kept attribute.
func (p picker) keepsSub(attr, sub *schema.Attribute) bool {
	switch {
	case sub.Returned == schema.ReturnedNever:
		return false
	case sub.Returned == schema.ReturnedAlways:
		return true
	case p.exclude.has(attr, sub):
		return false
	case p.selective && p.include[attr] != nil:
		return p.include.has(attr, sub)
	}
	return sub.Returned != schema.ReturnedRequest
}

// value selects the sub-attributes of a complex value; empty results are nil.
func (p picker) value(attr *schema.Attribute, v any) any {
	if attr.Type != schema.Complex {
		return schema.DeepCopy(v)
	}
	switch t := v.(type) {
	case []any:
		var out []any
		for _, e := range t {
			if pe := p.value(attr, e); pe != nil {
				out = append(out, pe)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			sub := attr.Sub(k)
			switch {
			case sub == nil && !p.selective:
				out[k] = schema.DeepCopy(e)
			case sub == nil, e == nil, !p.keepsSub(attr, sub):
			default:
				out[sub.Name] = schema.DeepCopy(e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return schema.DeepCopy(v)
}
