package patch

import (
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// coerce checks a PATCH operand against attr through schema.Coerce, the
// type check resource bodies share, and returns it in stored form. A
// multi-valued attribute yields []any with null sub-attributes and empty
// elements removed.
func (a *applier) coerce(attr *schema.Attribute, v any) (any, error) {
	if v == nil || !attr.MultiValued {
		return a.coerceOne(attr, v)
	}
	c, err := schema.Coerce(attr, v, a.opts.Quirks)
	if err != nil {
		return nil, err
	}
	list := c.([]any)
	out := list[:0]
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			e = stripNulls(writableSubs(attr, m))
			if len(m) == 0 {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// coerceOne coerces a single value of attr (one element when attr is
// multi-valued). Objects keep explicit nulls, which mean "remove this
// sub-attribute" when merged into an existing object; their read-only and
// write-only sub-attributes are dropped, as a client cannot set them.
func (a *applier) coerceOne(attr *schema.Attribute, v any) (any, error) {
	c, err := schema.CoerceOne(attr, v, a.opts.Quirks)
	if m, ok := c.(map[string]any); ok && err == nil {
		return writableSubs(attr, m), nil
	}
	return c, err
}

// writableSubs deletes from m, in place, the sub-attributes of attr that are
// read-only or write-only.
func writableSubs(attr *schema.Attribute, m map[string]any) map[string]any {
	for k := range m {
		if sub := attr.Sub(k); sub != nil && (sub.Mutability == schema.ReadOnly || sub.Mutability == schema.WriteOnly) {
			delete(m, k)
		}
	}
	return m
}

// stripNulls deletes null sub-attributes ("$ref": null from Entra ID) in place.
func stripNulls(m map[string]any) map[string]any {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return m
}

// merge returns base updated with the sub-attributes of v; a null in v
// removes the sub-attribute (RFC 7644 §3.5.2.3: unspecified sub-attributes
// are left unchanged).
func merge(base any, v map[string]any) map[string]any {
	out := map[string]any{}
	if m, ok := base.(map[string]any); ok {
		for k, e := range m {
			out[k] = e
		}
	}
	for k, e := range v {
		if e == nil {
			schema.Delete(out, k)
		} else {
			schema.Set(out, k, e)
		}
	}
	return out
}
