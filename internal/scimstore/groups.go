package scimstore

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// CreateGroup creates the ScimGroup, unique by displayName (see
// createUnique), and then its membership shards. kinds holds the members'
// kinds, as MemberKinds resolved them.
func (s *Store) CreateGroup(ctx context.Context, ep endpointRef, spec scimv1.ScimGroupSpec, members []string,
	kinds map[string]string) (*scimv1.ScimGroup, error) {
	spec.Endpoint = ep.Name
	obj, err := s.createUnique(ctx, ep, "Group", spec.DisplayName, func(name string) client.Object {
		g := &scimv1.ScimGroup{
			ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name,
				Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}},
			Spec: spec,
		}
		stampModified(g)
		return g
	})
	if err != nil {
		return nil, err
	}
	g := obj.(*scimv1.ScimGroup)
	s.waitForCache(ctx, g, g.ResourceVersion)
	if len(members) > 0 {
		return s.ApplyMembers(ctx, ep, g, []MemberChange{{Kind: MemberAdd, IDs: members}}, kinds)
	}
	return g, nil
}

// UpdateGroup replaces a group's displayName and externalId, moving the
// displayName claim when it changed.
func (s *Store) UpdateGroup(ctx context.Context, ep endpointRef, old *scimv1.ScimGroup, spec scimv1.ScimGroupSpec) (*scimv1.ScimGroup, error) {
	spec.Endpoint = ep.Name
	if spec == old.Spec {
		return old, nil
	}
	g := old.DeepCopy()
	g.Spec = spec
	stampModified(g)
	if err := s.updateUnique(ctx, ep, "Group", old.Spec.DisplayName, spec.DisplayName, g, func() client.Object {
		back := g.DeepCopy()
		back.Spec.DisplayName = old.Spec.DisplayName
		return back
	}); err != nil {
		return nil, err
	}
	s.waitForCache(ctx, g, g.ResourceVersion)
	return g, nil
}

// DeleteGroup removes the group from the groups it is a member of, then
// deletes its shards, retires its id, deletes the group and releases its
// displayName.
func (s *Store) DeleteGroup(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup) error {
	if err := s.leaveGroups(ctx, ep, g.Name); err != nil {
		return err
	}
	shards, err := s.shards(ctx, ep, g.Name)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		if err := s.c.Delete(ctx, sh); client.IgnoreNotFound(err) != nil {
			return errWrap("deleting ScimMembership", err)
		}
	}
	if err := s.retire(ctx, ep, "Group", g); err != nil {
		return err
	}
	if err := s.c.Delete(ctx, g, client.Preconditions{UID: &g.UID}); err != nil {
		return errWrap("deleting ScimGroup", client.IgnoreNotFound(err))
	}
	s.release(ctx, ep, "Group", g.Spec.DisplayName, g.Name)
	s.waitForCache(ctx, g, "")
	return nil
}
