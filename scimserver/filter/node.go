package filter

// node is one element of a compiled filter. match evaluates it against obj:
// the resource for a top-level filter, or one element of a multi-valued
// attribute inside a value filter.
type node interface {
	match(obj map[string]any) bool
}

// andNode holds when every child holds. Chains of "and" are flattened into
// one node, so evaluation does not recurse once per conjunct.
type andNode []node

func (n andNode) match(obj map[string]any) bool {
	for _, c := range n {
		if !c.match(obj) {
			return false
		}
	}
	return true
}

// orNode holds when any child holds.
type orNode []node

func (n orNode) match(obj map[string]any) bool {
	for _, c := range n {
		if c.match(obj) {
			return true
		}
	}
	return false
}

type notNode struct{ inner node }

func (n notNode) match(obj map[string]any) bool { return !n.inner.match(obj) }

// valuePathNode is `attr[filter]`: it holds when one element of attr
// satisfies every condition of filter on its own.
type valuePathNode struct {
	target operand
	filter node
}

func (n valuePathNode) match(obj map[string]any) bool {
	for _, elem := range n.target.elements(obj) {
		if n.filter.match(elem) {
			return true
		}
	}
	return false
}

// compareNode is `attrPath op value` or `attrPath pr`.
//
// Semantics chosen where RFC 7644 §3.4.2.2 leaves room:
//   - On a multi-valued attribute the comparison holds if any value matches.
//   - "ne" is the negation of "eq": it holds when the attribute is absent and,
//     on a multi-valued attribute, when no value equals the comparison value.
//   - "eq null" holds when the attribute is absent or empty, "ne null" when it
//     is present (RFC 7643 §2.5: null means unassigned).
//   - Every other operator is false on an absent attribute.
type compareNode struct {
	target operand
	op     string
	// value is the compiled comparison value (see compile); literal is the
	// value as written, nil for null and "pr".
	value, literal any
}

func (n compareNode) match(obj map[string]any) bool {
	return n.decide(func() bool { return n.target.present(obj) }, func(op string) bool { return n.any(op, obj) })
}

// decide is the comparison, given whether the attribute is present and
// whether any of its values compares true with op: the semantics above,
// shared by Match on a rendering and Typed on a stored object.
func (n compareNode) decide(present func() bool, anyValue func(op string) bool) bool {
	switch {
	case n.op == opPr:
		return present()
	case n.value == nil && n.op == opEq:
		return !present()
	case n.value == nil && n.op == opNe:
		return present()
	case n.op == opNe:
		return !anyValue(opEq)
	}
	return anyValue(n.op)
}

func (n compareNode) any(op string, obj map[string]any) bool {
	leaf := n.target.leaf()
	for _, v := range n.target.values(obj) {
		if compare(leaf, op, v, n.value) {
			return true
		}
	}
	return false
}
