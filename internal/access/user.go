package access

import (
	"context"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// UserReport answers "what does this user have, and why".
type UserReport struct {
	User UserRef `json:"user"`
	// DeactivatedAt is when the SCIM server last turned the user inactive.
	DeactivatedAt string `json:"deactivatedAt,omitempty"`
	// Deleting: the user is deleted and waits for its finalizers.
	Deleting bool       `json:"deleting,omitempty"`
	Groups   []GroupRef `json:"groups"`
	// Roles are the SCIM role values the user holds (ScimEntitlement names).
	Roles []string `json:"roles"`
	// Access lists every grant the user has, should have, or still has.
	Access     []Access    `json:"access"`
	TenantApps []TenantRow `json:"tenantApps"`
}

// User reports on the one user q names.
func (in *Inspector) User(ctx context.Context, q Query) (*UserReport, error) {
	s := in.session(ctx)
	u, err := s.findUser(q)
	if err != nil {
		return nil, err
	}
	d, err := s.endpoint(client.ObjectKey{Namespace: u.Namespace, Name: u.Spec.Endpoint})
	if err != nil {
		return nil, err
	}
	r := &UserReport{User: *userRef(u), Deleting: !u.DeletionTimestamp.IsZero(), Groups: []GroupRef{}, Roles: []string{},
		Access: []Access{}}
	if t := u.Annotations[scimv1.AnnotationDeactivatedAt]; t != "" && !u.Spec.Active {
		r.DeactivatedAt = t
	}
	for _, id := range d.userGroups[u.Name] {
		r.Groups = append(r.Groups, *groupRef(d.groups[id]))
	}
	sort.Slice(r.Groups, func(i, j int) bool { return r.Groups[i].DisplayName < r.Groups[j].DisplayName })
	for _, role := range u.Spec.Roles {
		r.Roles = append(r.Roles, role.Value)
	}
	bindings, err := s.bindingsOf(d.key)
	if err != nil {
		return nil, err
	}
	for _, b := range bindings {
		r.Access = append(r.Access, b.userAccess(u)...)
	}
	sortAccess(r.Access)
	if r.TenantApps, err = s.tenantRows(u, d); err != nil {
		return nil, err
	}
	return r, nil
}

// sortAccess orders rows by namespace (cluster-wide first), binding, subject.
func sortAccess(rows []Access) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Binding.String() != b.Binding.String() {
			return a.Binding.String() < b.Binding.String()
		}
		if a.Role != b.Role {
			return a.Role.Kind+a.Role.Name < b.Role.Kind+b.Role.Name
		}
		return a.Subject < b.Subject
	})
}
