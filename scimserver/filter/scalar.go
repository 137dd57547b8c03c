package filter

import (
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// Scalar is one value of an attribute read from a typed resource in place:
// what the resource's JSON rendering holds there, a string or a boolean, or
// an instant for a dateTime the rendering writes from a time. It lets a
// filter decide on the stored object without rendering it (Typed).
type Scalar struct {
	kind scalarKind
	s    string
	b    bool
	t    time.Time
}

type scalarKind uint8

const (
	kindString scalarKind = iota
	kindBool
	kindInstant
)

// StringValue is the scalar a string renders as.
func StringValue(s string) Scalar { return Scalar{kind: kindString, s: s} }

// BoolValue is the scalar a boolean renders as.
func BoolValue(b bool) Scalar { return Scalar{kind: kindBool, b: b} }

// InstantValue is the scalar a dateTime rendered as
// t.UTC().Format(time.RFC3339) holds: t in UTC, to the second. Outside the
// years 0-9999 that rendering is no RFC 3339 timestamp, and the scalar is
// the rendered string itself, so it compares as the rendering would.
func InstantValue(t time.Time) Scalar {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return StringValue(t.Format(time.RFC3339))
	}
	return Scalar{kind: kindInstant, t: t.Add(-time.Duration(t.Nanosecond()))}
}

// Text returns the value as fmt.Sprint prints its rendering, for a string
// or a boolean; ok is false for an instant (see Instant and AppendText),
// whose text would have to be built.
func (v Scalar) Text() (s string, ok bool) {
	switch v.kind {
	case kindString:
		return v.s, true
	case kindBool:
		if v.b {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// Instant returns the time of an instant; ok is false for a string or a
// boolean. Instants order as their renderings do: the rendering is of fixed
// width, so its byte order is time order.
func (v Scalar) Instant() (time.Time, bool) { return v.t, v.kind == kindInstant }

// AppendText appends the value as fmt.Sprint prints its rendering.
func (v Scalar) AppendText(dst []byte) []byte {
	if v.kind == kindInstant {
		return v.t.AppendFormat(dst, time.RFC3339)
	}
	s, _ := v.Text()
	return append(dst, s...)
}

// nonEmpty is nonEmpty of the rendered value.
func (v Scalar) nonEmpty() bool { return v.kind != kindString || v.s != "" }

// truthy reports whether the rendered value reads as true (toBool), as the
// "primary" of an element must for Values.
func (v Scalar) truthy() bool {
	switch v.kind {
	case kindBool:
		return v.b
	case kindString:
		return strings.EqualFold(v.s, "true")
	}
	return false
}

// compare is compare on the rendered value, without boxing or rendering
// it: an instant compares with a time as its rendering, parsed, would, and
// is rendered into a buffer on the stack for co, sw and ew.
func (v Scalar) compare(leaf *schema.Attribute, op string, want any) bool {
	switch v.kind {
	case kindBool:
		return leaf.Type == schema.Boolean && v.b == want.(bool)
	case kindInstant:
		if leaf.Type != schema.DateTime {
			return compareString(leaf, op, v.t.Format(time.RFC3339), want)
		}
		if t, ok := want.(time.Time); ok {
			return ordered(op, v.t.Compare(t))
		}
		var buf [len(time.RFC3339) + 8]byte
		return substring(op, string(v.AppendText(buf[:0])), want.(string))
	}
	return compareString(leaf, op, v.s, want)
}
