package scimserver

import (
	"context"

	"github.com/google/uuid"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// CreateGroup claims the displayName, creates the ScimGroup and then its
// membership shards.
func (s *Store) CreateGroup(ctx context.Context, ep endpointRef, spec scimv1.ScimGroupSpec, members []string) (*scimv1.ScimGroup, error) {
	id := uuid.NewString()
	if err := s.claim(ctx, ep, "Group", spec.DisplayName, id); err != nil {
		return nil, err
	}
	spec.Endpoint = ep.Name
	g := &scimv1.ScimGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: id,
			Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}},
		Spec: spec,
	}
	stampModified(g)
	if err := s.c.Create(ctx, g, FieldOwner); err != nil {
		s.release(context.WithoutCancel(ctx), ep, "Group", spec.DisplayName, id)
		return nil, errWrap("creating ScimGroup", err)
	}
	s.waitForCache(ctx, g, g.ResourceVersion)
	if len(members) > 0 {
		return s.ApplyMembers(ctx, ep, g, []MemberChange{{Kind: MemberAdd, IDs: members}})
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
	renamed := claimName("Group", ep.Name, old.Spec.DisplayName) != claimName("Group", ep.Name, spec.DisplayName) // see UpdateUser
	if renamed {
		if err := s.claim(ctx, ep, "Group", spec.DisplayName, old.Name); err != nil {
			return nil, err
		}
	}
	g := old.DeepCopy()
	g.Spec = spec
	stampModified(g)
	if err := s.c.Update(ctx, g, FieldOwner); err != nil {
		if renamed {
			s.release(context.WithoutCancel(ctx), ep, "Group", spec.DisplayName, old.Name)
		}
		return nil, errWrap("updating ScimGroup", err)
	}
	if renamed {
		s.release(ctx, ep, "Group", old.Spec.DisplayName, old.Name)
	}
	s.waitForCache(ctx, g, g.ResourceVersion)
	return g, nil
}

// DeleteGroup removes the group from the groups it is a member of, then
// deletes its shards, the group and its displayName claim.
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
	if err := s.c.Delete(ctx, g, client.Preconditions{UID: &g.UID}); err != nil {
		return errWrap("deleting ScimGroup", client.IgnoreNotFound(err))
	}
	s.release(ctx, ep, "Group", g.Spec.DisplayName, g.Name)
	s.waitForCache(ctx, g, "")
	return nil
}
