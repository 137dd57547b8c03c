package access

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Query names a user (by userName or id) or a group (by displayName or id),
// optionally within one namespace or one endpoint.
type Query struct {
	// Name is the userName or displayName (compared case-insensitively, as
	// SCIM does), or the id (the object's metadata.name).
	Name string
	// Namespace limits the search to the endpoints of one namespace ("": all).
	Namespace string
	// Endpoint limits the search to one endpoint of Namespace ("": any).
	Endpoint string
}

func (q Query) scope() string {
	switch {
	case q.Endpoint != "":
		return fmt.Sprintf(" on ScimEndpoint %s/%s", q.Namespace, q.Endpoint)
	case q.Namespace != "":
		return " in namespace " + q.Namespace
	}
	return " in any namespace"
}

func (q Query) options(fields client.MatchingFields) []client.ListOption {
	var opts []client.ListOption
	if q.Namespace != "" {
		opts = append(opts, client.InNamespace(q.Namespace))
	}
	if q.Endpoint != "" {
		fields["spec.endpoint"] = q.Endpoint
	}
	return append(opts, fields)
}

// candidate is a user or a group a query may name.
type candidate struct {
	obj            client.Object
	endpoint, name string // name: the userName or displayName
}

// lister lists the candidates whose name keep accepts, page by page.
type lister func(keep func(name string) bool, opts ...client.ListOption) ([]candidate, error)

// find finds the one kind ("user" or "group") q names: by id or by exact
// name (the field nameField) through field selectors; only when neither
// matches, by a case-insensitive scan.
func (s *session) find(kind, nameField string, q Query, list lister) (client.Object, error) {
	found := map[client.ObjectKey]candidate{}
	all := func(string) bool { return true }
	for _, field := range []string{"metadata.name", nameField} {
		cs, err := list(all, q.options(client.MatchingFields{field: q.Name})...)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			found[client.ObjectKeyFromObject(c.obj)] = c
		}
	}
	if len(found) == 0 {
		fold := func(name string) bool { return strings.EqualFold(name, q.Name) }
		cs, err := list(fold, q.options(client.MatchingFields{})...)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			found[client.ObjectKeyFromObject(c.obj)] = c
		}
	}
	matches := make([]candidate, 0, len(found))
	for _, c := range found {
		matches = append(matches, c)
	}
	sort.Slice(matches, func(i, j int) bool { return keyString(matches[i].obj) < keyString(matches[j].obj) })
	switch len(matches) {
	case 0:
		return nil, &NotFoundError{Kind: kind, Query: q.Name, Scope: q.scope()}
	case 1:
		return matches[0].obj, nil
	}
	err := &AmbiguousError{Kind: kind, Query: q.Name}
	for _, c := range matches {
		err.Matches = append(err.Matches, fmt.Sprintf("%s/%s: %s (id %s)", c.obj.GetNamespace(), c.endpoint, printable(c.name), c.obj.GetName()))
	}
	return nil, err
}

// findUser finds the one user q names.
func (s *session) findUser(q Query) (*scimv1.ScimUser, error) {
	o, err := s.find("user", "spec.userName", q, func(keep func(string) bool, opts ...client.ListOption) ([]candidate, error) {
		var out []candidate
		var list scimv1.ScimUserList
		err := s.pages(&list, func() {
			for i := range list.Items {
				if u := list.Items[i]; keep(u.Spec.UserName) {
					out = append(out, candidate{obj: &u, endpoint: u.Spec.Endpoint, name: u.Spec.UserName})
				}
			}
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("listing ScimUsers: %w", err)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return o.(*scimv1.ScimUser), nil
}

// findGroup finds the one group q names.
func (s *session) findGroup(q Query) (*scimv1.ScimGroup, error) {
	o, err := s.find("group", "spec.displayName", q, func(keep func(string) bool, opts ...client.ListOption) ([]candidate, error) {
		var out []candidate
		var list scimv1.ScimGroupList
		err := s.pages(&list, func() {
			for i := range list.Items {
				if g := list.Items[i]; keep(g.Spec.DisplayName) {
					out = append(out, candidate{obj: &g, endpoint: g.Spec.Endpoint, name: g.Spec.DisplayName})
				}
			}
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("listing ScimGroups: %w", err)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return o.(*scimv1.ScimGroup), nil
}

func keyString(o client.Object) string { return o.GetNamespace() + "/" + o.GetName() }
