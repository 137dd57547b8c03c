package filter

import (
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// operand locates the values a comparison reads in a JSON object: either a
// resource (top-level filter) or one element of a multi-valued attribute
// (inside a value filter, where the path is just the sub-attribute).
type operand struct {
	path schema.Path
	// ext is the extension URN under which the attribute is nested, or "".
	ext string
}

func newOperand(rt *schema.ResourceType, p schema.Path) operand {
	o := operand{path: p}
	if p.Extension(rt) {
		o.ext = p.URN
	}
	return o
}

// leaf is the attribute whose type and caseExact govern comparisons. A
// complex attribute compared without a sub-attribute compares its "value"
// sub-attribute (RFC 7644 §3.4.2.2: `emails co "example.com"`).
func (o operand) leaf() *schema.Attribute {
	if o.path.Sub != nil {
		return o.path.Sub
	}
	if o.path.Attr.Type == schema.Complex {
		if v := o.path.Attr.Sub("value"); v != nil {
			return v
		}
	}
	return o.path.Attr
}

// raw returns the attribute as stored, before any flattening.
func (o operand) raw(obj map[string]any) any {
	if o.ext != "" {
		_, container, _ := schema.Lookup(obj, o.ext)
		m, ok := container.(map[string]any)
		if !ok {
			return nil
		}
		obj = m
	}
	_, v, _ := schema.Lookup(obj, o.path.Attr.Name)
	return v
}

// elements returns the complex values of the attribute: every element of a
// multi-valued attribute, or the single object of a singular one.
func (o operand) elements(obj map[string]any) []map[string]any {
	var out []map[string]any
	for _, item := range asList(o.raw(obj)) {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// values returns the scalar values the comparison applies to, flattening
// multi-valued attributes; the expression matches if any of them matches.
func (o operand) values(obj map[string]any) []any {
	raw := o.raw(obj)
	if o.path.Attr.Type != schema.Complex {
		return nonNull(asList(raw))
	}
	name := o.leaf().Name
	if o.leaf() == o.path.Attr {
		return nil
	}
	var out []any
	for _, m := range o.elements(obj) {
		if _, v, ok := schema.Lookup(m, name); ok {
			out = append(out, nonNull(asList(v))...)
		}
	}
	return out
}

// present implements "pr": the attribute has a non-empty value, or for a
// complex attribute named without sub-attribute, a non-empty node.
func (o operand) present(obj map[string]any) bool {
	if o.path.Sub == nil && o.path.Attr.Type == schema.Complex {
		return nonEmpty(o.raw(obj))
	}
	for _, v := range o.values(obj) {
		if nonEmpty(v) {
			return true
		}
	}
	return false
}

// asList treats a single value as a one-element list, so a multi-valued
// attribute stored as a lone object still matches.
func asList(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	default:
		return []any{t}
	}
}

func nonNull(vs []any) []any {
	out := vs[:0:0]
	for _, v := range vs {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

// nonEmpty reports whether v is a value in the sense of RFC 7643 §2.5: null,
// "", an empty array and an object without values are all unassigned.
func nonEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		for _, e := range t {
			if nonEmpty(e) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range t {
			if nonEmpty(e) {
				return true
			}
		}
		return false
	default:
		return true
	}
}
