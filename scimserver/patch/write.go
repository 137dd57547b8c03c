package patch

import (
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// write performs add or replace on p, narrowed to the elements f matches
// when f is not nil.
func (a *applier) write(op string, p schema.Path, f *filter.ElementFilter, value any) error {
	switch {
	case f != nil:
		return a.writeFiltered(op, p, f, value)
	case p.Sub != nil:
		return a.writeSub(op, p, value)
	}
	return a.writeAttr(op, p, value)
}

// writeAttr sets a whole attribute. add appends to a multi-valued attribute
// (skipping exact duplicates) and replace swaps the list; on a singular
// complex attribute both merge sub-attributes (RFC 7644 §3.5.2.1, §3.5.2.3),
// except that an object carrying "value" replaces the old object, whose other
// sub-attributes ($ref, displayName) described the old value.
func (a *applier) writeAttr(op string, p schema.Path, value any) error {
	v, err := a.coerce(p.Attr, value)
	if err != nil {
		return err
	}
	if list, ok := v.([]any); v == nil || ok && len(list) == 0 {
		if op == OpAdd {
			return nil
		}
		return a.clear(p)
	}
	cur := getAttr(a.container(p, false), p.Attr)
	switch {
	case p.Attr.MultiValued && op == OpAdd:
		v = appendUnique(p.Attr, elements(cur), v.([]any))
	case p.Attr.Type == schema.Complex && !p.Attr.MultiValued:
		obj := v.(map[string]any)
		if _, id, _ := schema.Lookup(obj, "value"); id != nil && p.Attr.Sub("value") != nil {
			v = emptyToNil(stripNulls(obj))
		} else {
			v = emptyToNil(merge(cur, obj))
		}
	}
	a.store(p, v)
	return nil
}

// store sets p's attribute to v, creating the extension object if needed;
// nil or an empty list unassigns it, dropping an extension object left empty.
func (a *applier) store(p schema.Path, v any) {
	if list, ok := v.([]any); v == nil || ok && len(list) == 0 {
		if c := a.container(p, false); c != nil {
			setAttr(c, p.Attr, nil)
			a.tidy(p)
		}
		return
	}
	setAttr(a.container(p, true), p.Attr, v)
}

// clear unassigns p, which a required attribute cannot be.
func (a *applier) clear(p schema.Path) error {
	if p.Sub == nil && p.Attr.Required {
		return pathError(scimerr.InvalidValue, p, "is required and cannot be removed")
	}
	a.store(p, nil)
	return nil
}

// writeSub sets a sub-attribute: of the singular complex attribute, or of
// every element of a multi-valued one (creating one element if there is
// none).
func (a *applier) writeSub(op string, p schema.Path, value any) error {
	v, err := a.coerceOne(p.Sub, value)
	if err != nil {
		return err
	}
	cur := getAttr(a.container(p, false), p.Attr)
	if !p.Attr.MultiValued {
		a.store(p, emptyToNil(merge(cur, map[string]any{p.Sub.Name: v})))
		return nil
	}
	elems := elements(cur)
	if len(elems) == 0 && v != nil {
		elems = []any{map[string]any{p.Sub.Name: v}}
	}
	for i, e := range elems {
		elems[i] = setSub(e, p.Sub, v)
	}
	a.store(p, compact(elems))
	return nil
}

// writeFiltered sets the elements a value filter selects, or their
// sub-attribute. With no match, Quirks.FilteredPathCreates appends a new
// element built from the filter's eq conditions and the value (Entra ID adds
// emails[type eq "work"].value this way); without it the answer is noTarget.
// add merges into a matching element, replace swaps it (keeping the
// filter's conditions, so the element still matches).
func (a *applier) writeFiltered(op string, p schema.Path, f *filter.ElementFilter, value any) error {
	var v any
	var err error
	if p.Sub != nil {
		v, err = a.coerceOne(p.Sub, value)
	} else {
		v, err = a.coerceOne(p.Attr, value)
	}
	if err != nil {
		return err
	}
	elems := elements(getAttr(a.container(p, false), p.Attr))
	matched := false
	for i, e := range elems {
		m, ok := e.(map[string]any)
		if !ok || !f.Match(m) {
			continue
		}
		matched = true
		switch {
		case p.Sub != nil:
			elems[i] = setSub(m, p.Sub, v)
		case v == nil && op == OpReplace:
			elems[i] = nil
		case v == nil:
		case op == OpAdd:
			elems[i] = merge(m, v.(map[string]any))
		default:
			elems[i] = withConditions(f, v.(map[string]any))
		}
	}
	if !matched {
		if !a.opts.Quirks.FilteredPathCreates {
			return pathError(scimerr.NoTarget, p, "the filter matches no element")
		}
		if v == nil {
			return nil
		}
		if p.Sub != nil {
			v = map[string]any{p.Sub.Name: v}
		}
		elems = append(elems, withConditions(f, v.(map[string]any)))
	}
	a.store(p, compact(elems))
	return nil
}

// withConditions returns v completed with the filter's eq conditions for the
// sub-attributes v does not set.
func withConditions(f *filter.ElementFilter, v map[string]any) map[string]any {
	out := f.Conditions()
	for k, e := range v {
		schema.Set(out, k, e)
	}
	return stripNulls(out)
}

// setSub sets (or with nil, removes) one sub-attribute of an element.
func setSub(elem any, sub *schema.Attribute, v any) any {
	return emptyToNil(merge(elem, map[string]any{sub.Name: v}))
}

func emptyToNil(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// compact drops the elements set to nil.
func compact(elems []any) []any {
	out := elems[:0]
	for _, e := range elems {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// appendUnique appends the new elements that are not duplicates of an
// element already present: exact duplicates in general, and for references
// to other resources (attributes with a $ref sub-attribute, like members)
// elements with the same "value", since a group holds each member once.
func appendUnique(attr *schema.Attribute, cur, add []any) []any {
	key := identity
	if attr.Sub("$ref") != nil && attr.Sub("value") != nil {
		key = func(e any) string {
			if m, ok := e.(map[string]any); ok {
				if _, v, _ := schema.Lookup(m, "value"); v != nil {
					return "value:" + identity(v)
				}
			}
			return identity(e)
		}
	}
	seen := make(map[string]bool, len(cur)+len(add))
	for _, e := range cur {
		seen[key(e)] = true
	}
	for _, e := range add {
		if id := key(e); !seen[id] {
			seen[id] = true
			cur = append(cur, e)
		}
	}
	return cur
}
