package filter

import "github.com/scim-operator/scim-operator/scimserver/schema"

// A filtered or sorted listing reads every resource of an endpoint, and
// rendering each one (even only the members a filter names) costs memory in
// proportion to the directory. Typed decides on the stored objects instead:
// a Binder says where each attribute's rendered values are in the typed
// object, and the filter's own nodes (compareNode.decide, compare) decide
// on them, so a filter matches a stored object exactly as Match matches
// its rendering.

// Binding reads one attribute of resources of type T in place, as their
// rendering holds it. Len counts the values of a simple attribute or the
// elements of a complex one (at most one for a singular attribute), 0 where
// the rendering has no such member. Value reads value i of a simple
// attribute; Sub returns the reader of a sub-attribute of element i of a
// complex one, or nil when there is none. A reader reports ok false where
// the rendering has no value: a key omitted or null.
type Binding[T any] struct {
	Len   func(res T) int
	Value func(res T, i int) (Scalar, bool)
	Sub   func(sub *schema.Attribute) func(res T, i int) (Scalar, bool)
}

// Binder returns the binding of an attribute of a resource type, by its
// definition in the schema, or false when T has no typed reader for it:
// filter nodes and sort keys reading it then decide on a view (Compile).
type Binder[T any] func(attr *schema.Attribute) (Binding[T], bool)

// View writes into m the members keys names of res's rendering, as a
// listing's lean view does (Filter.Keys).
type View[T any] func(res T, keys []string, m map[string]any) error

// Typed is a filter compiled against a Binder. It reuses one view map, so
// it serves one goroutine (one request).
type Typed[T any] struct {
	root pred[T]
	view View[T]
	m    map[string]any
	err  error
	// viewed counts the nodes decided on views, for tests.
	viewed int
}

// pred is a compiled node. elem is the element of the value filter's
// attribute the node is evaluated on, or -1 at top level.
type pred[T any] func(res T, elem int) bool

// Compile compiles f to decide on resources of type T read through bind.
// A node naming an attribute bind has no reader for (a user's groups, a
// group's members) is decided on a view of the resource holding that
// node's keys, built by view when the evaluation reaches it (view may be
// nil when Viewed is 0). A nil f matches everything.
func Compile[T any](f *Filter, bind Binder[T], view View[T]) *Typed[T] {
	t := &Typed[T]{view: view, m: map[string]any{}}
	if f != nil {
		t.root = compiler[T]{t: t, bind: bind}.node(f.root)
	}
	return t
}

// Match reports whether res satisfies the filter, as Filter.Match reports it
// on res's rendering. The error is the view's.
func (t *Typed[T]) Match(res T) (bool, error) {
	if t.root == nil {
		return true, nil
	}
	t.err = nil
	ok := t.root(res, -1)
	return ok && t.err == nil, t.err
}

// Viewed is how many nodes of the filter are decided on a view.
func (t *Typed[T]) Viewed() int { return t.viewed }

// compiler compiles nodes at top level, or inside a value filter on the
// elements of the attribute elem binds.
type compiler[T any] struct {
	t    *Typed[T]
	bind Binder[T]
	elem *Binding[T]
}

// node compiles n, on a view where it cannot be read in place.
func (c compiler[T]) node(n node) pred[T] {
	if p, ok := c.typed(n); ok {
		return p
	}
	return c.t.onView(n)
}

// typed compiles n to read in place; ok is false when some attribute it
// reads has no reader. The children of "and" and "or" that have none are
// decided on views, unless none has one, where the whole node is.
func (c compiler[T]) typed(n node) (pred[T], bool) {
	switch n := n.(type) {
	case andNode:
		children, ok := c.children(n)
		if !ok {
			return nil, false
		}
		return func(res T, elem int) bool {
			for _, p := range children {
				if !p(res, elem) {
					return false
				}
			}
			return true
		}, true
	case orNode:
		children, ok := c.children(n)
		if !ok {
			return nil, false
		}
		return func(res T, elem int) bool {
			for _, p := range children {
				if p(res, elem) {
					return true
				}
			}
			return false
		}, true
	case notNode:
		inner, ok := c.typed(n.inner)
		if !ok {
			return nil, false
		}
		return func(res T, elem int) bool { return !inner(res, elem) }, true
	case valuePathNode:
		return c.valuePath(n)
	case compareNode:
		r, ok := c.reader(n.target, n.op == opPr || n.value == nil)
		if !ok {
			return nil, false
		}
		return r.compareNode(n), true
	}
	return nil, false
}

func (c compiler[T]) children(nodes []node) ([]pred[T], bool) {
	out := make([]pred[T], len(nodes))
	var untyped []int
	for i, n := range nodes {
		p, ok := c.typed(n)
		if !ok {
			untyped = append(untyped, i)
		}
		out[i] = p
	}
	switch {
	case len(untyped) == 0:
		return out, true
	case c.elem != nil || len(untyped) == len(nodes):
		return nil, false
	}
	for _, i := range untyped {
		out[i] = c.t.onView(nodes[i])
	}
	return out, true
}

// valuePath compiles attr[filter]: the inner filter reads the sub-attributes
// of one element of attr, in place or not at all.
func (c compiler[T]) valuePath(n valuePathNode) (pred[T], bool) {
	if c.elem != nil {
		return nil, false
	}
	b, ok := c.bind(n.target.path.Attr)
	if !ok || b.Len == nil || b.Sub == nil {
		return nil, false
	}
	inner, ok := compiler[T]{t: c.t, bind: c.bind, elem: &b}.typed(n.filter)
	if !ok {
		return nil, false
	}
	return func(res T, _ int) bool {
		for i, k := 0, b.Len(res); i < k; i++ {
			if inner(res, i) {
				return true
			}
		}
		return false
	}, true
}

// onView decides n on a view of the resource holding n's keys.
func (t *Typed[T]) onView(n node) pred[T] {
	t.viewed++
	keys := nodeKeys(n)
	return func(res T, _ int) bool {
		if t.err != nil {
			return false
		}
		clear(t.m)
		if err := t.view(res, keys, t.m); err != nil {
			t.err = err
			return false
		}
		return n.match(t.m)
	}
}
