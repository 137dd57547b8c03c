package rolebinding

import (
	"fmt"
	"strings"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// AllowList is the set of roles the platform team lets bindings grant, as
// "ClusterRole/<name>" or "Role/<name>" entries; "<kind>/*" allows every role
// of that kind. It is set by the --allowed-roles flag (chart value
// rbac.allowedRoles), never by a tenant.
type AllowList map[string]bool

// DefaultAllowedRoles lets bindings grant the built-in view and edit ClusterRoles.
const DefaultAllowedRoles = "ClusterRole/view,ClusterRole/edit"

// ParseAllowList parses a comma-separated allow-list.
func ParseAllowList(s string) (AllowList, error) {
	al := AllowList{}
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		kind, name, ok := strings.Cut(e, "/")
		if !ok || (kind != "Role" && kind != "ClusterRole") || name == "" {
			return nil, fmt.Errorf("allowed role %q: want ClusterRole/<name> or Role/<name>", e)
		}
		al[kind+"/"+name] = true
	}
	return al, nil
}

// Allows reports whether ref may be granted.
func (al AllowList) Allows(ref scimv1.RoleRef) bool {
	return al[ref.Kind+"/"+ref.Name] || al[ref.Kind+"/*"]
}
