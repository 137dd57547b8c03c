package schema

import "strings"

// Lookup finds the key of obj that equals name case-insensitively, because SCIM
// attribute names are case-insensitive (RFC 7643 §2.1) and clients send keys in any
// case. An exact match wins; among several case variants the smallest key wins so
// the result does not depend on map iteration order.
func Lookup(obj map[string]any, name string) (key string, value any, ok bool) {
	if v, found := obj[name]; found {
		return name, v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) && (!ok || k < key) {
			key, value, ok = k, v, true
		}
	}
	return key, value, ok
}

// Set stores value under the canonical name and deletes every other case variant
// of it, so a resource never carries "userName" and "username" side by side.
func Set(obj map[string]any, name string, value any) {
	Delete(obj, name)
	obj[name] = value
}

// Delete removes every key of obj that equals name case-insensitively.
func Delete(obj map[string]any, name string) {
	for k := range obj {
		if strings.EqualFold(k, name) {
			delete(obj, k)
		}
	}
}

// DeepCopy copies decoded JSON (maps, slices and scalars) so the result
// shares nothing with v.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = DeepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = DeepCopy(e)
		}
		return l
	default:
		return v
	}
}
