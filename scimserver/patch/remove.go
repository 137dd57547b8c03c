package patch

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// remove performs a remove on p (RFC 7644 §3.5.2.2). A value filter that
// matches nothing is a no-op, in every mode. With Quirks.RemoveWithValue a
// value on a multi-valued attribute lists the elements to remove, as Entra
// ID removes members with
// {"op":"Remove","path":"members","value":[{"value":"<id>"}]}; without a
// value the whole attribute goes.
func (a *applier) remove(p schema.Path, f *filter.ElementFilter, value any) error {
	cur := getAttr(a.container(p, false), p.Attr)
	switch {
	case f != nil:
		elems := elements(cur)
		for i, e := range elems {
			m, ok := e.(map[string]any)
			switch {
			case !ok || !f.Match(m):
			case p.Sub == nil:
				elems[i] = nil
			default:
				elems[i] = setSub(m, p.Sub, nil)
			}
		}
		a.store(p, compact(elems))
	case p.Sub != nil && p.Attr.MultiValued:
		elems := elements(cur)
		for i, e := range elems {
			elems[i] = setSub(e, p.Sub, nil)
		}
		a.store(p, compact(elems))
	case p.Sub != nil:
		a.store(p, emptyToNil(merge(cur, map[string]any{p.Sub.Name: nil})))
	case p.Attr.MultiValued && value != nil:
		if !a.opts.Quirks.RemoveWithValue {
			return removeValueError(p.Attr)
		}
		listed, err := a.coerce(p.Attr, value)
		if err != nil {
			return err
		}
		elems := elements(cur)
		for i, e := range elems {
			for _, l := range listed.([]any) {
				if sameElement(p.Attr, l, e) {
					elems[i] = nil
					break
				}
			}
		}
		a.store(p, compact(elems))
	default:
		return a.clear(p)
	}
	return nil
}

// sameElement reports whether a listed element designates an existing one:
// by "value" when the attribute has one (members are named by id alone),
// otherwise by exact equality.
func sameElement(attr *schema.Attribute, listed, existing any) bool {
	valueAttr := attr.Sub("value")
	l, lok := listed.(map[string]any)
	e, eok := existing.(map[string]any)
	if valueAttr == nil || !lok || !eok {
		return identity(listed) == identity(existing)
	}
	_, lv, _ := schema.Lookup(l, "value")
	_, ev, _ := schema.Lookup(e, "value")
	ls, lok := lv.(string)
	es, eok := ev.(string)
	if !lok || !eok {
		return identity(lv) == identity(ev) && lv != nil
	}
	if valueAttr.CaseExact {
		return ls == es
	}
	return strings.EqualFold(ls, es)
}

// removeValueError refuses a remove that lists elements in a value, which
// RFC 7644 §3.5.2.2 does not define: the elements are named by a filter.
func removeValueError(attr *schema.Attribute) error {
	return attrError(scimerr.InvalidValue, attr, `remove takes no value; select the elements with a filter such as [value eq "..."]`)
}
