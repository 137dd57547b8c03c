package filter

// Keys returns the top-level members of a resource the filter reads: the
// canonical names of the attributes it compares (name for name.familyName,
// emails for emails[type eq "work"]) and the URNs of the extensions whose
// attributes it compares. A resource holding only these members matches
// exactly as the whole resource does, so a listing can test a lean view of
// each resource and render in full only those it returns.
func (f *Filter) Keys() []string {
	if f == nil {
		return nil
	}
	return nodeKeys(f.root)
}

// nodeKeys is Keys of the filter n is the root of.
func nodeKeys(n node) []string {
	seen := map[string]bool{}
	var out []string
	add := func(o operand) {
		k := o.path.Attr.Name
		if o.ext != "" {
			k = o.ext
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case andNode:
			for _, c := range n {
				walk(c)
			}
		case orNode:
			for _, c := range n {
				walk(c)
			}
		case notNode:
			walk(n.inner)
		case valuePathNode:
			add(n.target)
		case compareNode:
			add(n.target)
		}
	}
	walk(n)
	return out
}
