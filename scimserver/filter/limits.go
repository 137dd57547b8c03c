package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// MaxLength is the longest filter or PATCH path, in bytes, that is handed to
// the parser. Real IdP filters are well under 300 bytes; the cap bounds the
// work a hostile client can cause.
const MaxLength = 4096

// MaxDepth is the deepest nesting of '(', '[' and "not" accepted. The parser
// recurses once per level and Go aborts the whole process on stack
// exhaustion, so depth is checked with a flat scan before parsing.
const MaxDepth = 16

// grammar names the kind of text being parsed, so errors say "filter" or
// "path" and carry the scimType the RFC assigns to each.
type grammar string

const (
	filterGrammar grammar = "filter"
	pathGrammar   grammar = "path"
)

func (g grammar) scimType() string {
	if g == pathGrammar {
		return scimerr.InvalidPath
	}
	return scimerr.InvalidFilter
}

func (g grammar) errorf(format string, args ...any) *scimerr.Error {
	return errorf(g.scimType(), "%s %s", string(g), fmt.Sprintf(format, args...))
}

func (g grammar) syntaxError() *scimerr.Error {
	return g.errorf("is not valid SCIM %s syntax (RFC 7644 §3.4.2.2, §3.5.2)", string(g))
}

// prepared is a filter or path whose value filters (the text between '[' and
// ']') were cut out and replaced by placeholders. The upstream parser only
// accepts one or two comparisons inside brackets, while RFC 7644 allows any
// filter there, so each bracket body is parsed separately as a full filter.
type prepared struct {
	text   string
	inners []string
}

// placeholder is the bracket body substituted for the i-th value filter. It
// is a valid value filter whose attribute name cannot clash with a real one
// because every bracket body in the text is replaced.
func placeholder(i int) string { return fmt.Sprintf("x%d pr", i) }

// prepare enforces MaxLength and MaxDepth, rejects invalid UTF-8 and unbalanced
// quotes or brackets, upper-cases the hex digits of \u escapes (the parser only
// accepts upper case, JSON allows both) and cuts out the value filters.
func prepare(g grammar, s string) (prepared, error) {
	if len(s) > MaxLength {
		return prepared{}, g.errorf("is longer than %d bytes", MaxLength)
	}
	s = strings.Trim(s, " \t\r\n")
	if s == "" {
		return prepared{}, g.errorf("is empty")
	}
	if !utf8.ValidString(s) {
		return prepared{}, g.errorf("is not valid UTF-8")
	}
	buf := []byte(s)
	var (
		stack          []int
		depth          int
		inQuote, esc   bool
		hexLeft        int
		open           = -1
		spans          [][2]int
		bracketStarted bool
	)
	for i := 0; i < len(buf); i++ {
		c := buf[i]
		if inQuote {
			switch {
			case hexLeft > 0:
				if c >= 'a' && c <= 'f' {
					buf[i] = c - 'a' + 'A'
				}
				hexLeft--
			case esc:
				esc = false
				if c == 'u' {
					hexLeft = 4
				}
			case c == '\\':
				esc = true
			case c == '"':
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '(', '[':
			inc := 1
			if c == '(' && precededByNot(buf, i) {
				inc = 2
			}
			if c == '[' {
				if bracketStarted {
					return prepared{}, g.errorf("nests a value filter inside another")
				}
				bracketStarted, open = true, i
			}
			stack = append(stack, inc)
			if depth += inc; depth > MaxDepth {
				return prepared{}, g.errorf("nests parentheses, brackets and \"not\" deeper than %d levels", MaxDepth)
			}
		case ')', ']':
			if len(stack) > 0 {
				depth -= stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
			if c == ']' {
				if !bracketStarted {
					return prepared{}, g.errorf("has unbalanced brackets")
				}
				spans = append(spans, [2]int{open, i})
				bracketStarted = false
			}
		}
	}
	if inQuote {
		return prepared{}, g.errorf("has an unterminated string")
	}
	if bracketStarted {
		return prepared{}, g.errorf("has unbalanced brackets")
	}
	return cutValueFilters(string(buf), spans), nil
}

// foldSubAttributeFilters rewrites each `attr[inner].sub op value` of the
// text, a form RFC 7644's filter grammar does not have, as the value filter
// it means: `attr[(inner) and sub op value]`, an element satisfying both.
// The value filters are already cut out, so a bracket in the text is always
// "[x<i> pr]"; the comparison after it is an operator and, unless the
// operator is "pr", one value: a quoted string or a bare literal.
func (p prepared) foldSubAttributeFilters() prepared {
	var b strings.Builder
	text := p.text
	for i := range p.inners {
		ph := "[" + placeholder(i) + "]."
		at := strings.Index(text, ph)
		if at < 0 {
			continue
		}
		rest := text[at+len(ph):]
		sub := scanWhile(rest, 0, isNameChar)
		pos := skipSpaces(rest, len(sub))
		op := scanWhile(rest, pos, isNameChar)
		if sub == "" || op == "" {
			continue
		}
		end := pos + len(op)
		cond := sub + " " + op
		if !strings.EqualFold(op, "pr") {
			vstart := skipSpaces(rest, end)
			vend := literalEnd(rest, vstart)
			if vend <= vstart {
				continue
			}
			cond += " " + rest[vstart:vend]
			end = vend
		}
		b.Reset()
		b.WriteString(text[:at+len(ph)-1])
		b.WriteString(rest[end:])
		text = b.String()
		p.inners[i] = "(" + p.inners[i] + ") and " + cond
	}
	p.text = text
	return p
}

func scanWhile(s string, from int, ok func(byte) bool) string {
	i := from
	for i < len(s) && ok(s[i]) {
		i++
	}
	return s[from:i]
}

func skipSpaces(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// literalEnd returns where the comparison value starting at i ends: after
// the closing quote of a string, or after a bare literal (a number, true,
// false, null).
func literalEnd(s string, i int) int {
	if i >= len(s) {
		return i
	}
	if s[i] != '"' {
		return i + len(scanWhile(s, i, func(c byte) bool { return isNameChar(c) || c == '+' }))
	}
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return i
}

// cutValueFilters replaces the body of each bracket span by a placeholder.
func cutValueFilters(s string, spans [][2]int) prepared {
	var p prepared
	var b strings.Builder
	last := 0
	for i, sp := range spans {
		b.WriteString(s[last : sp[0]+1])
		b.WriteString(placeholder(i))
		p.inners = append(p.inners, strings.Trim(s[sp[0]+1:sp[1]], " "))
		last = sp[1]
	}
	b.WriteString(s[last:])
	p.text = b.String()
	return p
}

// precededByNot reports whether the '(' at i follows the keyword "not", which
// costs the parser one more level of recursion.
func precededByNot(buf []byte, i int) bool {
	j := i - 1
	for j >= 0 && buf[j] == ' ' {
		j--
	}
	end := j + 1
	for j >= 0 && isNameChar(buf[j]) {
		j--
	}
	return strings.EqualFold(string(buf[j+1:end]), "not")
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == ':' || c == '$'
}

// safely runs an upstream parse function and turns a panic into an error, so
// a bug in the parser cannot crash the server.
func safely[T any](parse func([]byte) (T, error), s string) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panicked: %v", r)
		}
	}()
	return parse([]byte(s))
}
