package patch

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// container returns the object that holds p's attribute: the resource, or
// the extension object for an extension attribute. With create, a missing
// extension object is created and its URN added to schemas; without, nil is
// returned for a missing one.
func (a *applier) container(p schema.Path, create bool) map[string]any {
	if !p.Extension(a.rt) {
		return a.res
	}
	key, v, _ := schema.Lookup(a.res, p.URN)
	if m, ok := v.(map[string]any); ok {
		if key != p.URN {
			schema.Set(a.res, p.URN, m)
		}
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	schema.Set(a.res, p.URN, m)
	a.addSchema(p.URN)
	return m
}

// tidy drops p's extension object once it holds nothing, and its URN from
// schemas, so the resource does not claim an extension it has no data for.
func (a *applier) tidy(p schema.Path) {
	if !p.Extension(a.rt) {
		return
	}
	_, v, _ := schema.Lookup(a.res, p.URN)
	if m, ok := v.(map[string]any); !ok || len(m) == 0 {
		schema.Delete(a.res, p.URN)
		a.removeSchema(p.URN)
	}
}

func (a *applier) addSchema(urn string) {
	_, v, _ := schema.Lookup(a.res, "schemas")
	list, _ := v.([]any)
	for _, s := range list {
		if str, ok := s.(string); ok && strings.EqualFold(str, urn) {
			return
		}
	}
	if len(list) == 0 {
		list = []any{a.rt.Schema.ID}
	}
	schema.Set(a.res, "schemas", append(slices.Clip(list), urn))
}

func (a *applier) removeSchema(urn string) {
	key, v, ok := schema.Lookup(a.res, "schemas")
	list, isList := v.([]any)
	if !ok || !isList {
		return
	}
	a.res[key] = slices.DeleteFunc(slices.Clone(list), func(s any) bool {
		str, ok := s.(string)
		return ok && strings.EqualFold(str, urn)
	})
}

func getAttr(container map[string]any, attr *schema.Attribute) any {
	_, v, _ := schema.Lookup(container, attr.Name)
	return v
}

// setAttr stores v under the canonical name; nil or an empty list deletes the
// attribute (RFC 7643 §2.5: unassigned).
func setAttr(container map[string]any, attr *schema.Attribute, v any) {
	if list, ok := v.([]any); v == nil || ok && len(list) == 0 {
		schema.Delete(container, attr.Name)
		return
	}
	schema.Set(container, attr.Name, v)
}

// elements returns the values of a multi-valued attribute as a fresh slice;
// a lone object counts as one element.
func elements(v any) []any {
	switch t := v.(type) {
	case []any:
		return slices.Clone(t)
	case nil:
		return nil
	default:
		return []any{t}
	}
}

// identity is a canonical encoding of a value, to recognise exact duplicates
// in linear time (json.Marshal sorts map keys).
func identity(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
