package scimserver

import (
	"sort"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// normalize rewrites a decoded SCIM resource into canonical form: attribute
// names in the schema's spelling, extension attributes under their URN,
// null values dropped. Values are type-checked by schema.Coerce, the check
// PATCH shares, so the quirks q accepts (schema.Quirks) are the same for
// POST, PUT and PATCH. Unknown attributes are dropped with
// q.IgnoreUnknownAttributes and refused (invalidSyntax) without. Keys are
// visited in sorted order and, when several spell one attribute in
// different case, the smallest wins (as in schema.Lookup), so the result
// never depends on map iteration order. Errors are *scimerr.Error.
func normalize(rt *schema.ResourceType, in map[string]any, q schema.Quirks) (map[string]any, error) {
	if err := checkSchemas(rt, in, q); err != nil {
		return nil, err
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
				return nil, scimerr.New(scimerr.InvalidValue, "schema extension %q: expected an object", ext.ID)
			}
			norm, err := normalizeAttrs(ext.Attributes, obj, q, ext.ID)
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
				if !q.IgnoreUnknownAttributes {
					return nil, scimerr.New(scimerr.InvalidSyntax, "unknown attribute %s", scimerr.Name(k))
				}
				continue
			}
			nv, e := normalizeValue(p.Attr, v, q)
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
			if !q.IgnoreUnknownAttributes {
				return nil, scimerr.New(scimerr.InvalidSyntax, "unknown attribute %s", scimerr.Name(k))
			}
			continue
		}
		if _, dup := out[attr.Name]; dup {
			continue
		}
		nv, err := normalizeValue(attr, v, q)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[attr.Name] = nv
		}
	}
	return out, nil
}

// checkSchemas checks the "schemas" of a resource body (RFC 7643 §3, §3.3).
// In every mode, when present it is an array of URIs naming the resource
// type's core schema or one of its extensions; the body is read as the
// resource type its URL names. Without q.SchemasOptional it must also be
// present, list each URI once, include the core schema and every extension
// the body carries attributes of; without q.ForeignSchemaURNs it names
// nothing else.
func checkSchemas(rt *schema.ResourceType, in map[string]any, q schema.Quirks) error {
	invalid := func(detail string) error { return scimerr.New(scimerr.InvalidSyntax, "%s", detail) }
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
	if !found && q.SchemasOptional {
		return nil
	}
	listed := map[string]bool{}
	known := false
	for _, el := range declared {
		urn, ok := el.(string)
		if !ok {
			return invalid("schemas must be an array of schema URIs")
		}
		key := strings.ToLower(urn)
		if listed[key] && !q.SchemasOptional {
			return invalid("schemas lists a URI more than once")
		}
		listed[key] = true
		ours := strings.EqualFold(urn, rt.Schema.ID) || rt.Extension(urn) != nil
		if !ours && !q.ForeignSchemaURNs {
			return invalid("schemas names a schema that is not " + rt.Schema.ID + " or one of its extensions")
		}
		known = known || ours
	}
	if !known {
		return invalid("schemas must name " + rt.Schema.ID)
	}
	if q.SchemasOptional {
		return nil
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

// normalizeAttrs normalizes the attributes of an extension object.
func normalizeAttrs(attrs []*schema.Attribute, in map[string]any, q schema.Quirks, where string) (map[string]any, error) {
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
			if !q.IgnoreUnknownAttributes {
				return nil, scimerr.New(scimerr.InvalidSyntax, "unknown attribute %s in %s", scimerr.Name(k), where)
			}
			continue
		}
		if _, dup := out[attr.Name]; dup {
			continue
		}
		nv, err := normalizeValue(attr, v, q)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[attr.Name] = nv
		}
	}
	return out, nil
}

// normalizeValue type-checks one attribute's value through schema.Coerce and
// drops null sub-attributes, which in a resource body mean "unassigned". A
// singular complex value that q.BlankSubAttributes leaves blank (OneLogin's
// manager for a user without one) is unassigned as a whole.
func normalizeValue(attr *schema.Attribute, v any, q schema.Quirks) (any, error) {
	c, err := schema.Coerce(attr, v, q)
	if err != nil {
		return nil, err
	}
	switch t := c.(type) {
	case map[string]any:
		if sent, ok := v.(map[string]any); ok && q.BlankSubAttributes && schema.LeftBlank(attr, sent, t) {
			return nil, nil
		}
		dropNulls(t)
	case []any:
		for _, el := range t {
			if m, ok := el.(map[string]any); ok {
				dropNulls(m)
			}
		}
		onePrimary(t)
	}
	return c, nil
}

func dropNulls(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
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
