package attrselect

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// schemas returns the "schemas" list of the selected resource: the
// resource's own list without the extensions that are no longer present, plus
// any present extension it forgot to list (RFC 7643 §3: schemas names every
// schema the representation uses).
func schemas(rt *schema.ResourceType, res map[string]any, present []string) []any {
	_, v, _ := schema.Lookup(res, "schemas")
	list, _ := v.([]any)
	if len(list) == 0 {
		list = []any{rt.Schema.ID}
	}
	isPresent := func(urn string) bool {
		for _, p := range present {
			if strings.EqualFold(p, urn) {
				return true
			}
		}
		return false
	}
	var out []any
	listed := map[string]bool{}
	for _, s := range list {
		str, ok := s.(string)
		if ok && rt.Extension(str) != nil && !isPresent(str) {
			continue
		}
		if ok {
			listed[strings.ToLower(str)] = true
		}
		out = append(out, s)
	}
	for _, urn := range present {
		if !listed[strings.ToLower(urn)] {
			out = append(out, urn)
		}
	}
	return out
}
