// Package filter parses and evaluates SCIM filters (RFC 7644 §3.4.2.2) and
// PATCH paths (RFC 7644 §3.5.2) against a resource type's schema. Resources
// are the JSON representation decoded into map[string]any, or typed objects
// read in place through a Binder (Compile, SortValue); attribute names match
// case-insensitively everywhere. Syntax is delegated to
// github.com/scim2/filter-parser after length and nesting caps are enforced,
// because that parser recurses and a deep stack kills the whole process.
package filter

import (
	"strconv"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	scim "github.com/scim2/filter-parser/v2"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// Filter is a parsed filter whose attribute paths were all resolved against
// one resource type, so Match never meets an unknown attribute.
type Filter struct {
	root node
}

// Parse parses s and validates every attribute path and operator against rt.
// Attribute names and operators are case-insensitive; extension attributes may
// be written with or without their URN; a boolean attribute may be compared
// with the strings "true" and "false" in any case, as Entra ID writes
// roles[primary eq "True"]. RFC 7644 §3.4.2.2 makes gt/ge/lt/le on booleans
// and binaries, and any operator other than pr on a complex attribute
// without "value" sub-attribute, an error. Errors are *scimerr.Error with scimType
// invalidFilter; input over MaxLength or MaxDepth is refused before parsing.
func Parse(rt *schema.ResourceType, s string) (*Filter, error) {
	return ParseWith(rt, s, schema.Strict())
}

// ParseWith is Parse accepting the filter forms of the quirks q names
// (schema.Quirks.SubAttributeFilters).
func ParseWith(rt *schema.ResourceType, s string, q schema.Quirks) (*Filter, error) {
	p, err := prepare(filterGrammar, s)
	if err != nil {
		return nil, err
	}
	if q.SubAttributeFilters {
		p = p.foldSubAttributeFilters()
	}
	expr, perr := safely(scim.ParseFilterNumber, p.text)
	if perr != nil {
		return nil, filterGrammar.syntaxError()
	}
	b := builder{rt: rt, inners: p.inners}
	root, err := b.build(expr)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root}, nil
}

// Match reports whether res satisfies the filter. A nil Filter matches every
// resource, so callers can treat "no filter" uniformly.
//
// Strings compare case-insensitively unless the attribute is caseExact (id,
// externalId, members.value); dateTimes compare as instants; gt/lt on strings
// are lexicographic. On a multi-valued attribute a comparison holds if any
// value matches, and `emails co "x"` compares the "value" sub-attribute. A
// value filter `emails[type eq "work" and primary eq true]` holds when one
// element satisfies all of it. "pr" needs a non-empty value (not null, "",
// [] or {}). "ne" is the negation of "eq", so it holds on an absent attribute
// and, on a multi-valued one, when no value is equal. "eq null" holds on an
// absent attribute. Other comparisons on an absent attribute are false.
func (f *Filter) Match(res map[string]any) bool {
	if f == nil {
		return true
	}
	return f.root.match(res)
}

// builder turns the upstream syntax tree into nodes. elem is the multi-valued
// attribute whose elements a value filter is evaluated on, nil at top level.
type builder struct {
	rt     *schema.ResourceType
	inners []string
	elem   *schema.Attribute
}

func (b builder) build(expr scim.Expression) (node, error) {
	switch e := expr.(type) {
	case *scim.LogicalExpression:
		var children []node
		for _, part := range flatten(e, e.Operator) {
			n, err := b.build(part)
			if err != nil {
				return nil, err
			}
			children = append(children, n)
		}
		if e.Operator == scim.AND {
			return andNode(children), nil
		}
		return orNode(children), nil
	case *scim.NotExpression:
		inner, err := b.build(e.Expression)
		if err != nil {
			return nil, err
		}
		return notNode{inner: inner}, nil
	case *scim.AttributeExpression:
		return b.comparison(e)
	case *scim.ValuePath:
		return b.valuePath(e)
	}
	return nil, filterGrammar.syntaxError()
}

// flatten lists the operands of a chain of the same logical operator; the
// upstream parser nests such chains one level per operand.
func flatten(e *scim.LogicalExpression, op scim.LogicalOperator) []scim.Expression {
	var out []scim.Expression
	for _, side := range []scim.Expression{e.Left, e.Right} {
		if l, ok := side.(*scim.LogicalExpression); ok && l.Operator == op {
			out = append(out, flatten(l, op)...)
		} else {
			out = append(out, side)
		}
	}
	return out
}

func (b builder) comparison(e *scim.AttributeExpression) (node, error) {
	target, err := b.resolve(e.AttributePath)
	if err != nil {
		return nil, err
	}
	op := strings.ToLower(string(e.Operator))
	value, literal, cerr := compile(target.leaf(), displayName(target.path), op, e.CompareValue)
	if cerr != nil {
		return nil, cerr
	}
	return compareNode{target: target, op: op, value: value, literal: literal}, nil
}

func (b builder) valuePath(e *scim.ValuePath) (node, error) {
	if b.elem != nil {
		return nil, errorf(scimerr.InvalidFilter, "filter nests a value filter inside another")
	}
	target, err := b.resolve(e.AttributePath)
	if err != nil {
		return nil, err
	}
	inner, err := b.inner(target.path, e.AttributePath, e.ValueFilter)
	if err != nil {
		return nil, err
	}
	return valuePathNode{target: target, filter: inner}, nil
}

// inner parses the value filter cut out by prepare for attr[...] and builds it
// in the scope of attr's elements.
func (b builder) inner(p schema.Path, ap scim.AttributePath, placeholderExpr scim.Expression) (node, error) {
	if p.Sub != nil || p.Attr.Type != schema.Complex {
		return nil, errorf(scimerr.InvalidFilter,
			"%s: a value filter needs a complex attribute", quoteName(ap.String()))
	}
	ph, ok := placeholderExpr.(*scim.AttributeExpression)
	if !ok || len(ph.AttributePath.AttributeName) < 2 {
		return nil, filterGrammar.syntaxError()
	}
	i, err := strconv.Atoi(ph.AttributePath.AttributeName[1:])
	if err != nil || i < 0 || i >= len(b.inners) {
		return nil, filterGrammar.syntaxError()
	}
	expr, perr := safely(scim.ParseFilterNumber, b.inners[i])
	if perr != nil {
		return nil, filterGrammar.syntaxError()
	}
	scoped := builder{rt: b.rt, elem: p.Attr}
	return scoped.build(expr)
}

// resolve maps an attribute path to an operand: against the resource type at
// top level, or to a sub-attribute of b.elem inside a value filter.
func (b builder) resolve(ap scim.AttributePath) (operand, error) {
	if b.elem != nil {
		sub := b.elem.Sub(ap.AttributeName)
		if ap.URIPrefix != nil || ap.SubAttribute != nil || sub == nil {
			return operand{}, errorf(scimerr.InvalidFilter,
				"unknown sub-attribute %s of %q", quoteName(ap.String()), b.elem.Name)
		}
		return operand{path: schema.Path{Attr: sub}}, nil
	}
	p, err := ResolvePath(b.rt, ap.String())
	if err != nil {
		return operand{}, errorf(scimerr.InvalidFilter, "unknown attribute %s", quoteName(ap.String()))
	}
	return newOperand(b.rt, p), nil
}

// displayName is the canonical dotted name of a path, for error details.
func displayName(p schema.Path) string {
	if p.Sub != nil {
		return p.Attr.Name + "." + p.Sub.Name
	}
	return p.Attr.Name
}
