package scimserver

import (
	"fmt"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// noValue is the sort key of a resource without a value at sortBy: after
// every other in ascending order, before them in descending order (RFC 7644
// §3.4.2.3).
const noValue = "\U0010FFFF"

// sortKey is the lower-cased string form of the first value at path; resources
// without a value sort last in ascending order (RFC 7644 §3.4.2.3). Only an
// absent value or an empty string counts as no value: false and 0 are values.
func sortKey(rt *schema.ResourceType, res map[string]any, path string) string {
	vals, err := filter.Values(rt, res, path)
	if err != nil || len(vals) == 0 || vals[0] == nil || vals[0] == "" {
		return noValue
	}
	return strings.ToLower(fmt.Sprint(vals[0]))
}

// compareSortValues orders two values read in place (filter.SortValue) as
// their sortKeys order, ok false meaning no value, without building the
// keys: instants compare as times (their renderings are of fixed width, so
// byte order is time order), anything else as text (filter.FoldCompare).
func compareSortValues(a filter.Scalar, aok bool, b filter.Scalar, bok bool) int {
	if at, ok := a.Instant(); ok && aok {
		if bt, ok := b.Instant(); ok && bok {
			return at.Compare(bt)
		}
	}
	var abuf, bbuf [40]byte
	as, bs := noValue, noValue
	if aok {
		if s, ok := a.Text(); !ok {
			as = string(a.AppendText(abuf[:0]))
		} else if s != "" {
			as = s
		}
	}
	if bok {
		if s, ok := b.Text(); !ok {
			bs = string(b.AppendText(bbuf[:0]))
		} else if s != "" {
			bs = s
		}
	}
	return filter.FoldCompare(as, bs)
}
