package access

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Inspector answers the questions of `kubectl scim` by reading the cluster
// through Client (any reader: the plugin's uncached client, a test's).
type Inspector struct {
	Client client.Reader
}

// pageSize bounds each list call, so an endpoint of 100,000 users is read
// in pages instead of one response of hundreds of megabytes.
const pageSize = 500

// session is one question's reads, each made once.
type session struct {
	ctx        context.Context
	c          client.Reader
	endpoints  map[client.ObjectKey]*endpointData
	namespaces map[string]*corev1.Namespace
}

func (in *Inspector) session(ctx context.Context) *session {
	return &session{ctx: ctx, c: in.Client, endpoints: map[client.ObjectKey]*endpointData{},
		namespaces: map[string]*corev1.Namespace{}}
}

// pages lists list page by page, calling each after every page.
func (s *session) pages(list client.ObjectList, each func(), opts ...client.ListOption) error {
	cont := ""
	for {
		o := append(append([]client.ListOption{}, opts...), client.Limit(pageSize), client.Continue(cont))
		if err := s.c.List(s.ctx, list, o...); err != nil {
			return err
		}
		each()
		if cont = list.GetContinue(); cont == "" {
			return nil
		}
	}
}

// namespace returns namespace name, nil when it does not exist.
func (s *session) namespace(name string) (*corev1.Namespace, error) {
	if ns, ok := s.namespaces[name]; ok {
		return ns, nil
	}
	ns := &corev1.Namespace{}
	if err := s.c.Get(s.ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("getting namespace %s: %w", name, err)
		}
		ns = nil
	}
	s.namespaces[name] = ns
	return ns, nil
}

// endpointData is what one ScimEndpoint holds: its groups and their
// members, and (loaded only when a question needs them) its users.
type endpointData struct {
	key client.ObjectKey
	// ep is nil when the endpoint does not exist.
	ep         *scimv1.ScimEndpoint
	groups     map[string]*scimv1.ScimGroup
	members    map[string][]string // group id → member user ids
	userGroups map[string][]string // user id → group ids
	users      []*scimv1.ScimUser  // nil until loadUsers
}

// endpoint reads the endpoint key, its groups and its membership shards.
func (s *session) endpoint(key client.ObjectKey) (*endpointData, error) {
	if d, ok := s.endpoints[key]; ok {
		return d, nil
	}
	d := &endpointData{key: key, groups: map[string]*scimv1.ScimGroup{}, members: map[string][]string{},
		userGroups: map[string][]string{}}
	ep := &scimv1.ScimEndpoint{}
	if err := s.c.Get(s.ctx, key, ep); err == nil {
		d.ep = ep
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("getting ScimEndpoint %s: %w", key, err)
	}
	of := []client.ListOption{client.InNamespace(key.Namespace), client.MatchingLabels{scimv1.LabelEndpoint: key.Name}}
	var groups scimv1.ScimGroupList
	if err := s.pages(&groups, func() {
		for i := range groups.Items {
			if g := &groups.Items[i]; g.Spec.Endpoint == key.Name {
				d.groups[g.Name] = g
			}
		}
	}, of...); err != nil {
		return nil, fmt.Errorf("listing the ScimGroups of %s: %w", key, err)
	}
	var shards scimv1.ScimMembershipList
	if err := s.pages(&shards, func() {
		for i := range shards.Items {
			sh := &shards.Items[i]
			if _, ok := d.groups[sh.Spec.Group]; !ok {
				continue
			}
			for _, m := range sh.Spec.Members {
				if m.IsUser() {
					d.members[sh.Spec.Group] = append(d.members[sh.Spec.Group], m.Value)
					d.userGroups[m.Value] = append(d.userGroups[m.Value], sh.Spec.Group)
				}
			}
		}
	}, of...); err != nil {
		return nil, fmt.Errorf("listing the ScimMemberships of %s: %w", key, err)
	}
	for _, ids := range d.userGroups {
		sort.Strings(ids)
	}
	s.endpoints[key] = d
	return d, nil
}

// loadUsers reads every user of the endpoint, once.
func (s *session) loadUsers(d *endpointData) ([]*scimv1.ScimUser, error) {
	if d.users != nil {
		return d.users, nil
	}
	d.users = []*scimv1.ScimUser{}
	var users scimv1.ScimUserList
	if err := s.pages(&users, func() {
		for i := range users.Items {
			if u := users.Items[i]; u.Spec.Endpoint == d.key.Name {
				d.users = append(d.users, &u)
			}
		}
	}, client.InNamespace(d.key.Namespace), client.MatchingLabels{scimv1.LabelEndpoint: d.key.Name}); err != nil {
		d.users = nil
		return nil, fmt.Errorf("listing the ScimUsers of %s: %w", d.key, err)
	}
	return d.users, nil
}

// isMember reports whether user id is a direct member of group id.
func (d *endpointData) isMember(user, group string) bool {
	for _, g := range d.userGroups[user] {
		if g == group {
			return true
		}
	}
	return false
}

// held reports whether the endpoint's deprovisioning guard holds revocations.
func (d *endpointData) held() bool {
	if d.ep == nil {
		return false
	}
	for _, c := range d.ep.Status.Conditions {
		if c.Type == scimv1.ConditionDeprovisioningHeld {
			return c.Status == "True"
		}
	}
	return false
}
