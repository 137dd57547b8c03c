package schema

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Coerce checks v, a value a client sent for attr in a resource body (POST,
// PUT) or a PATCH operation, and returns it in stored form: sub-attribute
// names spelled as the schema spells them and JSON types matching the
// schema. It is the one place request values are type-checked, so a value
// gets the same answer whichever request carries it. What q accepts beyond
// RFC 7643 is listed in quirks.go; every other mismatch is an invalidValue
// *scimerr.Error.
//
// A multi-valued attribute needs an array, and yields []any without its null
// elements (with q.BlankSubAttributes, an element left blank is one).
// Objects keep null sub-attributes (PATCH reads them as "remove this
// sub-attribute"; a resource body drops them). When several keys spell
// one sub-attribute in different case, the first non-null one in sorted key
// order wins, so the result never depends on map iteration order.
func Coerce(attr *Attribute, v any, q Quirks) (any, error) {
	if v == nil || !attr.MultiValued {
		return CoerceOne(attr, v, q)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, typeError(attr, "expected an array")
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		c, err := CoerceOne(attr, e, q)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// CoerceOne coerces one value of attr: the value of a singular attribute,
// or one element of a multi-valued one.
func CoerceOne(attr *Attribute, v any, q Quirks) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch attr.Type {
	case Complex:
		switch t := v.(type) {
		case map[string]any:
			if q.RolesAsJSONStrings && attr == userRoles {
				var err error
				if t, err = decodeRoleElement(t); err != nil {
					return nil, err
				}
			}
			out, err := coerceObject(attr, t, q)
			if err == nil && q.BlankSubAttributes && attr.MultiValued && LeftBlank(attr, t, out) {
				return nil, nil
			}
			return out, err
		case string:
			if q.ManagerAsString && !attr.MultiValued && attr.Sub("value") != nil {
				return map[string]any{"value": t}, nil
			}
		}
		return nil, typeError(attr, "expected an object")
	case Boolean:
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			if q.StringBooleans && strings.EqualFold(t, "true") {
				return true, nil
			}
			if q.StringBooleans && strings.EqualFold(t, "false") {
				return false, nil
			}
		}
		return nil, typeError(attr, "expected a boolean")
	case Integer, Decimal:
		f, ok := number(v)
		if !ok || attr.Type == Integer && f != math.Trunc(f) {
			return nil, typeError(attr, "expected a number")
		}
		return v, nil
	case DateTime:
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			return nil, typeError(attr, "expected an RFC 3339 timestamp")
		}
		return s, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, typeError(attr, "expected a string")
	}
	if q.BlankSubAttributes && blankSubs[attr] && isBlank(s) {
		return nil, nil
	}
	if q.RolesAsJSONStrings && attr == userRoleValue {
		if role, isJSON, err := decodeRole(s); isJSON {
			return role.Value, err
		}
	}
	return s, nil
}

func coerceObject(attr *Attribute, obj map[string]any, q Quirks) (map[string]any, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]any, len(obj))
	for _, k := range keys {
		sub := attr.Sub(k)
		if sub == nil {
			if q.IgnoreUnknownAttributes {
				continue
			}
			return nil, typeError(attr, "value has an unknown sub-attribute")
		}
		if prev, dup := out[sub.Name]; dup && prev != nil {
			continue
		}
		c, err := CoerceOne(sub, obj[k], q)
		if err != nil {
			return nil, err
		}
		out[sub.Name] = c
	}
	return out, nil
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	}
	return 0, false
}

// typeError reports a value of the wrong type for attr, named canonically
// from the schema so nothing the client sent is echoed.
func typeError(attr *Attribute, what string) error {
	return scimerr.New(scimerr.InvalidValue, "attribute %q: %s", attr.Name, what)
}
