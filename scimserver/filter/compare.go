package filter

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// Comparison operators (RFC 7644 §3.4.2.2), lower case.
const (
	opEq = "eq"
	opNe = "ne"
	opCo = "co"
	opSw = "sw"
	opEw = "ew"
	opGt = "gt"
	opGe = "ge"
	opLt = "lt"
	opLe = "le"
	opPr = "pr"
)

func isOrdering(op string) bool { return op == opGt || op == opGe || op == opLt || op == opLe }

func isSubstring(op string) bool { return op == opCo || op == opSw || op == opEw }

// compile checks that op may be applied to an attribute of leaf's type and
// converts the comparison value to the form match uses: string, bool,
// float64 or time.Time; nil for null and "pr". literal is the value as the
// client wrote it (JSON types), for Equalities and Conditions.
func compile(leaf *schema.Attribute, name, op string, v any) (typed, literal any, err *scimerr.Error) {
	bad := func(what string) *scimerr.Error {
		return errorf(scimerr.InvalidFilter, "%s: %s", quoteName(name), what)
	}
	if op == opPr {
		return nil, nil, nil
	}
	if v == nil {
		if op != opEq && op != opNe {
			return nil, nil, bad("operator " + op + " cannot compare with null")
		}
		return nil, nil, nil
	}
	if s, ok := v.(string); ok {
		decoded, ok := unquote(s)
		if !ok {
			return nil, nil, errorf(scimerr.InvalidFilter, "filter contains an invalid string escape")
		}
		v = decoded
	}
	switch leaf.Type {
	case schema.Complex:
		return nil, nil, bad("a complex attribute only supports pr; name a sub-attribute")
	case schema.Boolean:
		if op != opEq && op != opNe {
			return nil, nil, bad("a boolean attribute only supports eq, ne and pr")
		}
		b, ok := toBool(v)
		if !ok {
			return nil, nil, bad("a boolean attribute must be compared with true or false")
		}
		return b, b, nil
	case schema.Integer, schema.Decimal:
		if isSubstring(op) {
			return nil, nil, bad("a number attribute does not support " + op)
		}
		n, ok := v.(json.Number)
		if !ok {
			return nil, nil, bad("a number attribute must be compared with a number")
		}
		f, perr := strconv.ParseFloat(string(n), 64)
		if perr != nil || math.IsInf(f, 0) {
			return nil, nil, bad("the number is out of range")
		}
		return f, f, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, nil, bad("a " + string(leaf.Type) + " attribute must be compared with a string")
	}
	if leaf.Type == schema.Binary && isOrdering(op) {
		return nil, nil, bad("a binary attribute does not support " + op)
	}
	if leaf.Type == schema.DateTime && !isSubstring(op) {
		t, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil {
			return nil, nil, bad("a dateTime attribute must be compared with an RFC 3339 timestamp")
		}
		return t, s, nil
	}
	return s, s, nil
}

// unquote decodes the JSON escapes the parser leaves in string values.
func unquote(s string) (string, bool) {
	if !strings.ContainsRune(s, '\\') {
		return s, true
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return "", false
	}
	return out, true
}

// compare applies a non-presence operator to one stored value. Values of the
// wrong type never match.
func compare(leaf *schema.Attribute, op string, stored, want any) bool {
	switch v := stored.(type) {
	case string:
		return compareString(leaf, op, v, want)
	case bool:
		return leaf.Type == schema.Boolean && v == want.(bool)
	}
	switch leaf.Type {
	case schema.Integer, schema.Decimal:
		f, ok := toFloat(stored)
		return ok && ordered(op, cmpFloat(f, want.(float64)))
	case schema.DateTime:
		t, ok := want.(time.Time)
		st, stored := stored.(time.Time)
		return ok && stored && ordered(op, st.Compare(t))
	}
	return false
}

// compareString is compare on a stored string, which a typed resource
// passes without boxing it (Scalar.compare).
func compareString(leaf *schema.Attribute, op, s string, want any) bool {
	switch leaf.Type {
	case schema.Boolean:
		b, ok := stringBool(s)
		return ok && b == want.(bool)
	case schema.Integer, schema.Decimal:
		return false
	case schema.DateTime:
		if t, ok := want.(time.Time); ok {
			st, err := time.Parse(time.RFC3339Nano, s)
			return err == nil && ordered(op, st.Compare(t))
		}
		return substring(op, s, want.(string))
	}
	w := want.(string)
	if op == opEq {
		if leaf.CaseExact {
			return s == w
		}
		return strings.EqualFold(s, w)
	}
	switch {
	case leaf.CaseExact && isSubstring(op):
		return substring(op, s, w)
	case leaf.CaseExact:
		return ordered(op, strings.Compare(s, w))
	case isSubstring(op):
		return foldSubstring(op, s, w)
	}
	return ordered(op, FoldCompare(s, w))
}

// foldSubstring is substring on the lower-cased strings.
func foldSubstring(op, s, w string) bool {
	switch op {
	case opCo:
		return foldContains(s, w)
	case opSw:
		return foldHasPrefix(s, w)
	case opEw:
		return foldHasSuffix(s, w)
	}
	return false
}

func substring(op, s, w string) bool {
	switch op {
	case opCo:
		return strings.Contains(s, w)
	case opSw:
		return strings.HasPrefix(s, w)
	case opEw:
		return strings.HasSuffix(s, w)
	}
	return false
}

func ordered(op string, c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// toBool accepts JSON booleans and, because Entra ID sends them, the strings
// "true" and "false" in any case.
func toBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		return stringBool(t)
	}
	return false, false
}

func stringBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	}
	return 0, false
}
