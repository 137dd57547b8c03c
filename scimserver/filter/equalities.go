package filter

import "github.com/scim-operator/scim-operator/scimserver/schema"

// Equality is one `attr eq "value"` condition that every matching resource
// must satisfy. The server looks candidates up in an index by it instead of
// scanning every resource, then still calls Match on each candidate.
type Equality struct {
	// Attr is the canonical schema name of a singular top-level string
	// attribute, such as "userName", "externalId", "displayName" or "id".
	Attr string
	// Value is the comparison value as the client wrote it. Whether it must
	// be compared case-insensitively follows from the attribute's caseExact.
	Value string
}

// Equalities returns the indexable conditions of the filter: the conjuncts of
// its top-level "and" chain (or the whole filter when it is one comparison)
// that compare a singular top-level string attribute with eq to a string.
// It returns nil when no conjunct qualifies, for example under "or" or "not".
func (f *Filter) Equalities() []Equality {
	if f == nil {
		return nil
	}
	conjuncts := []node{f.root}
	if and, ok := f.root.(andNode); ok {
		conjuncts = and
	}
	var out []Equality
	for _, c := range conjuncts {
		if eq, ok := indexable(c); ok {
			out = append(out, eq)
		}
	}
	return out
}

func indexable(n node) (Equality, bool) {
	c, ok := n.(compareNode)
	if !ok || c.op != opEq || c.target.ext != "" || c.target.path.Sub != nil {
		return Equality{}, false
	}
	attr := c.target.path.Attr
	if attr.MultiValued || attr.Type != schema.String {
		return Equality{}, false
	}
	s, ok := c.literal.(string)
	if !ok {
		return Equality{}, false
	}
	return Equality{Attr: attr.Name, Value: s}, true
}
