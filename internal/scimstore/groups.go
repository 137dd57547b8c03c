package scimstore

import (
	"context"
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// CreateGroup creates the ScimGroup, unique by displayName (see
// createUnique), and then its membership shards. kinds holds the members'
// kinds, as MemberKinds resolved them. When a shard cannot be written the
// create is undone (undoGroup), so the request leaves no group holding part
// of its members and the identity provider's retry of the same POST starts
// afresh instead of meeting a 409 for a group it never got an id for.
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
	if len(members) == 0 {
		return g, nil
	}
	out, err := s.ApplyMembers(ctx, ep, g, []MemberChange{{Kind: MemberAdd, IDs: members}}, kinds)
	if err != nil {
		if uerr := s.undoGroup(context.WithoutCancel(ctx), ep, g); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
		return nil, err
	}
	return out, nil
}

// undoGroup removes a group this request created and could not complete:
// the shards written so far, then the group, then its displayName claim.
// Its id is not retired: no client was ever given it.
func (s *Store) undoGroup(ctx context.Context, ep endpointRef, g *scimv1.ScimGroup) error {
	var shards scimv1.ScimMembershipList
	if err := s.live.List(ctx, &shards, client.InNamespace(ep.Namespace),
		client.MatchingLabels{scimv1.LabelGroup: g.Name}); err != nil {
		return errWrap("listing the shards of the ScimGroup this request created", err)
	}
	for i := range shards.Items {
		if err := s.c.Delete(ctx, &shards.Items[i]); client.IgnoreNotFound(err) != nil {
			return errWrap("deleting a shard of the ScimGroup this request created", err)
		}
	}
	if err := s.undoCreate(ctx, "Group", g); err != nil {
		return err
	}
	s.release(ctx, ep, "Group", g.Spec.DisplayName, g.Name)
	s.waitForCache(ctx, g, "")
	return nil
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
