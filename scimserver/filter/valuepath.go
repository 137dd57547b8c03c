package filter

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	scim "github.com/scim2/filter-parser/v2"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// ValuePath is a parsed PATCH path (RFC 7644 §3.5.2): attrPath, attrPath.sub,
// valuePath or valuePath.sub, optionally prefixed with a schema URN.
type ValuePath struct {
	// Path is the resolved target. Path.Sub is the sub-attribute, whether it
	// was written as "name.givenName" or after the bracket as
	// "emails[type eq \"work\"].value".
	Path schema.Path
	// Filter selects elements of a multi-valued attribute; nil when the path
	// has no brackets.
	Filter *ElementFilter
}

// ElementFilter is the bracketed part of a value path. PATCH applies an
// operation only to the elements it matches.
type ElementFilter struct {
	root node
}

// ParseValuePath parses a PATCH path against rt, with the same length and
// nesting caps as Parse. Errors are *scimerr.Error: invalidPath for an unknown or
// malformed path, invalidFilter for a bad condition inside the brackets.
func ParseValuePath(rt *schema.ResourceType, path string) (*ValuePath, error) {
	p, err := prepare(pathGrammar, path)
	if err != nil {
		return nil, err
	}
	parsed, perr := safely(scim.ParsePathNumber, p.text)
	if perr != nil {
		return nil, pathGrammar.syntaxError()
	}
	resolved, err := ResolvePath(rt, parsed.AttributePath.String())
	if err != nil {
		return nil, err
	}
	vp := &ValuePath{Path: resolved}
	if parsed.ValueExpression == nil {
		return vp, nil
	}
	if !resolved.Attr.MultiValued {
		return nil, errorf(scimerr.InvalidPath, "%s: a value filter needs a multi-valued attribute",
			quoteName(displayName(resolved)))
	}
	b := builder{rt: rt, inners: p.inners}
	root, err := b.inner(resolved, parsed.AttributePath, parsed.ValueExpression)
	if err != nil {
		return nil, err
	}
	vp.Filter = &ElementFilter{root: root}
	if name := parsed.SubAttributeName(); name != "" {
		if vp.Path.Sub = resolved.Attr.Sub(name); vp.Path.Sub == nil {
			return nil, errorf(scimerr.InvalidPath, "unknown sub-attribute %s of %q", quoteName(name), resolved.Attr.Name)
		}
	}
	return vp, nil
}

// Match reports whether one element of the multi-valued attribute satisfies
// every condition of the filter.
func (f *ElementFilter) Match(elem map[string]any) bool {
	return f.root.match(elem)
}

// Conditions returns the `sub eq value` conditions of the filter's top-level
// "and" chain, keyed by canonical sub-attribute name, with booleans as bool.
// PATCH copies them into an element it creates because none matched, so
// `emails[type eq "work"].value` creates {"type": "work", "value": ...}.
func (f *ElementFilter) Conditions() map[string]any {
	conjuncts := []node{f.root}
	if and, ok := f.root.(andNode); ok {
		conjuncts = and
	}
	out := map[string]any{}
	for _, n := range conjuncts {
		if c, ok := n.(compareNode); ok && c.op == opEq && c.literal != nil {
			out[c.target.path.Attr.Name] = c.literal
		}
	}
	return out
}

// OneOf reports the string values v when the filter is exactly
// `sub eq "v1" or sub eq "v2" ...` (a single comparison included), as
// Okta and Entra ID write member removals. Group membership is not loaded into
// memory, so such a filter is the only one a member removal may use.
func (f *ElementFilter) OneOf(sub string) ([]string, bool) {
	disjuncts := []node{f.root}
	if or, ok := f.root.(orNode); ok {
		disjuncts = or
	}
	var out []string
	for _, n := range disjuncts {
		c, ok := n.(compareNode)
		if !ok || c.op != opEq || !strings.EqualFold(c.target.path.Attr.Name, sub) {
			return nil, false
		}
		s, ok := c.literal.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
