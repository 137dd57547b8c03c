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

// findUser finds the one user q names: by id or by exact userName through
// field selectors; only when neither matches, by a case-insensitive scan.
func (s *session) findUser(q Query) (*scimv1.ScimUser, error) {
	found := map[client.ObjectKey]*scimv1.ScimUser{}
	var list scimv1.ScimUserList
	collect := func(match func(*scimv1.ScimUser) bool) func() {
		return func() {
			for i := range list.Items {
				if u := list.Items[i]; match(&u) {
					found[client.ObjectKeyFromObject(&u)] = &u
				}
			}
		}
	}
	all := func(*scimv1.ScimUser) bool { return true }
	for _, field := range []string{"metadata.name", "spec.userName"} {
		if err := s.pages(&list, collect(all), q.options(client.MatchingFields{field: q.Name})...); err != nil {
			return nil, fmt.Errorf("listing ScimUsers: %w", err)
		}
	}
	if len(found) == 0 {
		fold := func(u *scimv1.ScimUser) bool { return strings.EqualFold(u.Spec.UserName, q.Name) }
		if err := s.pages(&list, collect(fold), q.options(client.MatchingFields{})...); err != nil {
			return nil, fmt.Errorf("listing ScimUsers: %w", err)
		}
	}
	var matches []*scimv1.ScimUser
	for _, u := range found {
		matches = append(matches, u)
	}
	sort.Slice(matches, func(i, j int) bool { return keyString(matches[i]) < keyString(matches[j]) })
	switch len(matches) {
	case 0:
		return nil, &NotFoundError{Kind: "user", Query: q.Name, Scope: q.scope()}
	case 1:
		return matches[0], nil
	}
	err := &AmbiguousError{Kind: "user", Query: q.Name}
	for _, u := range matches {
		err.Matches = append(err.Matches, fmt.Sprintf("%s/%s: %s (id %s)", u.Namespace, u.Spec.Endpoint, u.Spec.UserName, u.Name))
	}
	return nil, err
}

// findGroup finds the one group q names, as findUser finds a user.
func (s *session) findGroup(q Query) (*scimv1.ScimGroup, error) {
	found := map[client.ObjectKey]*scimv1.ScimGroup{}
	var list scimv1.ScimGroupList
	collect := func(match func(*scimv1.ScimGroup) bool) func() {
		return func() {
			for i := range list.Items {
				if g := list.Items[i]; match(&g) {
					found[client.ObjectKeyFromObject(&g)] = &g
				}
			}
		}
	}
	all := func(*scimv1.ScimGroup) bool { return true }
	for _, field := range []string{"metadata.name", "spec.displayName"} {
		if err := s.pages(&list, collect(all), q.options(client.MatchingFields{field: q.Name})...); err != nil {
			return nil, fmt.Errorf("listing ScimGroups: %w", err)
		}
	}
	if len(found) == 0 {
		fold := func(g *scimv1.ScimGroup) bool { return strings.EqualFold(g.Spec.DisplayName, q.Name) }
		if err := s.pages(&list, collect(fold), q.options(client.MatchingFields{})...); err != nil {
			return nil, fmt.Errorf("listing ScimGroups: %w", err)
		}
	}
	var matches []*scimv1.ScimGroup
	for _, g := range found {
		matches = append(matches, g)
	}
	sort.Slice(matches, func(i, j int) bool { return keyString(matches[i]) < keyString(matches[j]) })
	switch len(matches) {
	case 0:
		return nil, &NotFoundError{Kind: "group", Query: q.Name, Scope: q.scope()}
	case 1:
		return matches[0], nil
	}
	err := &AmbiguousError{Kind: "group", Query: q.Name}
	for _, g := range matches {
		err.Matches = append(err.Matches, fmt.Sprintf("%s/%s: %s (id %s)", g.Namespace, g.Spec.Endpoint, g.Spec.DisplayName, g.Name))
	}
	return nil, err
}

func keyString(o client.Object) string { return o.GetNamespace() + "/" + o.GetName() }
