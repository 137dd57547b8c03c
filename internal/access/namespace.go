package access

import (
	"context"
	"fmt"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// NamespaceReport answers "who has access here, and why": every grant
// scim-operator projects into the namespace, and every cluster-wide one.
type NamespaceReport struct {
	Namespace string   `json:"namespace"`
	Access    []Access `json:"access"`
}

// Namespace reports on namespace ns.
func (in *Inspector) Namespace(ctx context.Context, ns string) (*NamespaceReport, error) {
	s := in.session(ctx)
	n, err := s.namespace(ns)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, fmt.Errorf("namespace %q not found", ns)
	}
	bindings, err := s.bindingsIn(ns)
	if err != nil {
		return nil, err
	}
	r := &NamespaceReport{Namespace: ns, Access: []Access{}}
	here := func(loc string) bool { return loc == ns || loc == "" }
	for _, b := range bindings {
		var users []*scimv1.ScimUser
		if b.d.Subjects.Kind != scimv1.SubjectGroup {
			if users, err = s.loadUsers(b.ep); err != nil {
				return nil, err
			}
		}
		r.Access = append(r.Access, b.allAccess(users, here)...)
	}
	sortAccess(r.Access)
	return r, nil
}
