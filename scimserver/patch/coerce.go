package patch

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// coerce checks a client value against attr and returns it in stored form:
// canonical sub-attribute names, read-only sub-attributes dropped, JSON types
// matching the schema. A multi-valued attribute yields []any with null
// sub-attributes and empty elements removed. Lenient mode converts what IdPs
// are known to send instead (see Options).
func (a *applier) coerce(attr *schema.Attribute, v any) (any, error) {
	if v == nil || !attr.MultiValued {
		return a.coerceOne(attr, v)
	}
	list, ok := v.([]any)
	if !ok {
		if a.opts.Strict {
			return nil, attrError(ScimTypeInvalidValue, attr, "expected an array")
		}
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		c, err := a.coerceOne(attr, e)
		if err != nil {
			return nil, err
		}
		if m, ok := c.(map[string]any); ok {
			c = stripNulls(m)
			if len(m) == 0 {
				continue
			}
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// coerceOne coerces a single value of attr (one element when attr is
// multi-valued). Objects keep explicit nulls, which mean "remove this
// sub-attribute" when merged into an existing object.
func (a *applier) coerceOne(attr *schema.Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch attr.Type {
	case schema.Complex:
		switch t := v.(type) {
		case map[string]any:
			return a.coerceObject(attr, t)
		case string:
			// Entra ID sends the enterprise manager as a bare id.
			if !a.opts.Strict && !attr.MultiValued && attr.Sub("value") != nil {
				return map[string]any{"value": t}, nil
			}
		}
		return nil, attrError(ScimTypeInvalidValue, attr, "expected an object")
	case schema.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if s, ok := v.(string); ok && !a.opts.Strict {
			switch {
			case strings.EqualFold(s, "true"):
				return true, nil
			case strings.EqualFold(s, "false"):
				return false, nil
			}
		}
		return nil, attrError(ScimTypeInvalidValue, attr, "expected a boolean")
	case schema.Integer, schema.Decimal:
		f, ok := number(v)
		if !ok || attr.Type == schema.Integer && f != math.Trunc(f) {
			return nil, attrError(ScimTypeInvalidValue, attr, "expected a number")
		}
		return v, nil
	case schema.DateTime:
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			return nil, attrError(ScimTypeInvalidValue, attr, "expected an RFC 3339 timestamp")
		}
		return s, nil
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case float64:
		// Some IdPs send employeeNumber and similar as JSON numbers.
		if !a.opts.Strict {
			return strconv.FormatFloat(t, 'f', -1, 64), nil
		}
	}
	return nil, attrError(ScimTypeInvalidValue, attr, "expected a string")
}

func (a *applier) coerceObject(attr *schema.Attribute, obj map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(obj))
	for _, k := range sortedKeys(obj) {
		sub := attr.Sub(k)
		switch {
		case sub == nil && a.opts.Strict:
			return nil, attrError(ScimTypeInvalidValue, attr, "value has an unknown sub-attribute")
		case sub == nil, sub.Mutability == schema.ReadOnly, sub.Mutability == schema.WriteOnly:
			continue
		}
		c, err := a.coerceOne(sub, obj[k])
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

// stripNulls deletes null sub-attributes ("$ref": null from Entra ID) in place.
func stripNulls(m map[string]any) map[string]any {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return m
}

// merge returns base updated with the sub-attributes of v; a null in v
// removes the sub-attribute (RFC 7644 §3.5.2.3: unspecified sub-attributes
// are left unchanged).
func merge(base any, v map[string]any) map[string]any {
	out := map[string]any{}
	if m, ok := base.(map[string]any); ok {
		for k, e := range m {
			out[k] = e
		}
	}
	for k, e := range v {
		if e == nil {
			schema.Delete(out, k)
		} else {
			schema.Set(out, k, e)
		}
	}
	return out
}
