package filter

import "github.com/scim-operator/scim-operator/scimserver/schema"

// reader reads in place what an operand reads from a rendering
// (operand.values and operand.present).
type reader[T any] struct {
	// count is how many items, values or elements, the operand has.
	count func(res T, elem int) int
	// value reads the compared value of item i; nil when the operand has
	// none (a complex attribute without a "value" sub-attribute).
	value func(res T, elem, i int) (Scalar, bool)
	// whole is set for "pr" on a complex attribute named without
	// sub-attribute, which holds when any sub-attribute of an element has a
	// value; subs reads each one.
	whole bool
	subs  []func(res T, i int) (Scalar, bool)
}

// reader binds o. presence says the comparison asks whether o is present
// (pr, eq null, ne null), which on a complex attribute reads every
// sub-attribute.
func (c compiler[T]) reader(o operand, presence bool) (reader[T], bool) {
	if c.elem != nil {
		// Inside a value filter: o names a sub-attribute of the element.
		if o.path.Attr.Type == schema.Complex {
			return reader[T]{}, false
		}
		get := c.elem.Sub(o.path.Attr)
		if get == nil {
			return reader[T]{}, false
		}
		return reader[T]{
			count: func(T, int) int { return 1 },
			value: func(res T, elem, _ int) (Scalar, bool) { return get(res, elem) },
		}, true
	}
	attr := o.path.Attr
	b, ok := c.bind(attr)
	if !ok || b.Len == nil {
		return reader[T]{}, false
	}
	r := reader[T]{count: func(res T, _ int) int { return b.Len(res) }}
	if attr.Type != schema.Complex {
		if b.Value == nil {
			return reader[T]{}, false
		}
		r.value = func(res T, _, i int) (Scalar, bool) { return b.Value(res, i) }
		return r, true
	}
	if b.Sub == nil {
		return reader[T]{}, false
	}
	if leaf := o.leaf(); leaf != attr {
		get := b.Sub(leaf)
		if get == nil {
			return reader[T]{}, false
		}
		r.value = func(res T, _, i int) (Scalar, bool) { return get(res, i) }
	}
	if presence && o.path.Sub == nil {
		r.whole = true
		for _, sub := range attr.SubAttributes {
			get := b.Sub(sub)
			if get == nil {
				return reader[T]{}, false
			}
			r.subs = append(r.subs, get)
		}
	}
	return r, true
}

// present is operand.present.
func (r reader[T]) present(res T, elem int) bool {
	n := r.count(res, elem)
	if r.whole {
		for i := range n {
			for _, get := range r.subs {
				if v, ok := get(res, i); ok && v.nonEmpty() {
					return true
				}
			}
		}
		return false
	}
	if r.value == nil {
		return false
	}
	for i := range n {
		if v, ok := r.value(res, elem, i); ok && v.nonEmpty() {
			return true
		}
	}
	return false
}

// anyValue is compareNode.any.
func (r reader[T]) anyValue(res T, elem int, leaf *schema.Attribute, op string, want any) bool {
	if r.value == nil {
		return false
	}
	for i, n := 0, r.count(res, elem); i < n; i++ {
		if v, ok := r.value(res, elem, i); ok && v.compare(leaf, op, want) {
			return true
		}
	}
	return false
}

// compareNode compiles n on r.
func (r reader[T]) compareNode(n compareNode) pred[T] {
	leaf := n.target.leaf()
	return func(res T, elem int) bool {
		return n.decide(
			func() bool { return r.present(res, elem) },
			func(op string) bool { return r.anyValue(res, elem, leaf, op, n.value) })
	}
}

// SortValue returns how to read in place the value a listing sorted by path
// orders a resource by: the first of Values(rt, rendering, path), ok false
// when there is none. It returns nil when bind has no reader for it, and
// Values' error for an unknown path.
func SortValue[T any](rt *schema.ResourceType, path string, bind Binder[T]) (func(res T) (Scalar, bool), error) {
	p, err := ResolvePath(rt, path)
	if err != nil {
		return nil, err
	}
	o := newOperand(rt, p)
	r, ok := compiler[T]{bind: bind}.reader(o, false)
	if !ok {
		return nil, nil
	}
	first := func(res T) (Scalar, bool) {
		if r.value == nil {
			return Scalar{}, false
		}
		for i, n := 0, r.count(res, -1); i < n; i++ {
			if v, ok := r.value(res, -1, i); ok {
				return v, true
			}
		}
		return Scalar{}, false
	}
	primary := p.Attr.Sub("primary")
	if p.Sub != nil || !p.Attr.MultiValued || o.leaf() == p.Attr || primary == nil {
		return first, nil
	}
	// RFC 7644 §3.4.2.3: by the primary value, when an element is primary.
	b, _ := bind(p.Attr)
	isPrimary := b.Sub(primary)
	if isPrimary == nil {
		return nil, nil
	}
	return func(res T) (Scalar, bool) {
		for i, n := 0, b.Len(res); i < n; i++ {
			if v, ok := isPrimary(res, i); ok && v.truthy() {
				return r.value(res, -1, i)
			}
		}
		return first(res)
	}, nil
}
