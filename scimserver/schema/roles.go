package schema

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// jsonRole is a role as Entra ID encodes it in a string without the
// aadOptscim062020 flag (Quirks.RolesAsJSONStrings).
type jsonRole struct {
	Value       string
	DisplayName string
}

// decodeRole reads s as a JSON-encoded role. isJSON is false when s is not
// a JSON object, and so an ordinary value; a JSON object without a string
// value is an invalidValue error.
func decodeRole(s string) (role jsonRole, isJSON bool, err error) {
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return role, false, nil
	}
	var raw map[string]any
	if json.Unmarshal([]byte(s), &raw) != nil {
		return role, false, nil
	}
	value, _ := raw["value"].(string)
	if value == "" {
		return role, true, scimerr.New(scimerr.InvalidValue, `attribute "roles": a JSON-encoded role needs a string value`)
	}
	display, _ := raw["displayName"].(string)
	return jsonRole{Value: value, DisplayName: display}, true, nil
}

// decodeRoleElement returns el with a JSON-encoded value replaced by the
// role's value, and the role's displayName as display when el has none.
// el itself, the client's request, is not modified.
func decodeRoleElement(el map[string]any) (map[string]any, error) {
	keys := make([]string, 0, len(el))
	for k := range el {
		keys = append(keys, k)
	}
	sort.Strings(keys) // as coerceObject: the first spelling of value wins
	var valueKey string
	hasDisplay := false
	for _, k := range keys {
		v := el[k]
		switch {
		case strings.EqualFold(k, "value") && valueKey == "" && v != nil:
			if _, isString := v.(string); !isString {
				return el, nil
			}
			valueKey = k
		case strings.EqualFold(k, "display") && v != nil:
			hasDisplay = true
		}
	}
	if valueKey == "" {
		return el, nil
	}
	role, isJSON, err := decodeRole(el[valueKey].(string))
	if !isJSON || err != nil {
		return el, err
	}
	out := make(map[string]any, len(el)+1)
	for k, v := range el {
		out[k] = v
	}
	out[valueKey] = role.Value
	if !hasDisplay && role.DisplayName != "" {
		out["display"] = role.DisplayName
	}
	return out, nil
}
