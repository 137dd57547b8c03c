package scimstore

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// CreateUser creates the ScimUser, unique by userName (see createUnique): of
// two concurrent creates of one userName, on any number of replicas, exactly
// one succeeds; the other gets 409 uniqueness.
func (s *Store) CreateUser(ctx context.Context, ep endpointRef, spec scimv1.ScimUserSpec) (*scimv1.ScimUser, error) {
	spec.Endpoint = ep.Name
	var finalizers []string
	if s.userFinalizers != nil {
		var err error
		if finalizers, err = s.userFinalizers(ctx, ep.Namespace, ep.Name); err != nil {
			return nil, errWrap("finding the finalizers of a new ScimUser", err)
		}
	}
	obj, err := s.createUnique(ctx, ep, "User", spec.UserName, func(name string) client.Object {
		u := &scimv1.ScimUser{
			ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name,
				Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}, Finalizers: finalizers},
			Spec: spec,
		}
		stampModified(u)
		return u
	})
	if err != nil {
		return nil, err
	}
	u := obj.(*scimv1.ScimUser)
	s.waitForCache(ctx, u, u.ResourceVersion)
	return u, nil
}

// UpdateUser replaces a user's spec, moving its userName claim when the
// userName changed (updateUnique). The update carries the resourceVersion
// the caller read, so a concurrent change makes it fail with a conflict.
// rolesSent says the request carried the user's roles (a PUT, or a PATCH of
// roles), which stamps AnnotationRolesSentAt.
func (s *Store) UpdateUser(ctx context.Context, ep endpointRef, old *scimv1.ScimUser, spec scimv1.ScimUserSpec, rolesSent bool) (*scimv1.ScimUser, error) {
	u := old.DeepCopy()
	spec.Endpoint = ep.Name
	u.Spec = spec
	stampModified(u)
	stampDeactivated(u, old.Spec.Active)
	if rolesSent {
		u.Annotations[scimv1.AnnotationRolesSentAt] = u.Annotations[scimv1.AnnotationLastModified]
	}
	if err := s.updateUnique(ctx, ep, "User", old.Spec.UserName, spec.UserName, u, func() client.Object {
		back := u.DeepCopy()
		back.Spec.UserName = old.Spec.UserName
		return back
	}); err != nil {
		return nil, err
	}
	s.waitForCache(ctx, u, u.ResourceVersion)
	return u, nil
}

// DeleteUser removes the user from every group, retires its id, deletes it
// and releases its userName. Finalizers of the projections may keep the object a while; the
// SCIM server treats it as gone from now on.
func (s *Store) DeleteUser(ctx context.Context, ep endpointRef, u *scimv1.ScimUser) error {
	if err := s.leaveGroups(ctx, ep, u.Name); err != nil {
		return err
	}
	if err := s.retire(ctx, ep, "User", u); err != nil {
		return err
	}
	if err := s.c.Delete(ctx, u, client.Preconditions{UID: &u.UID}); err != nil {
		return errWrap("deleting ScimUser", client.IgnoreNotFound(err))
	}
	s.release(ctx, ep, "User", u.Spec.UserName, u.Name)
	s.waitForCache(ctx, u, "")
	return nil
}

// stampDeactivated records when a user went from active to inactive, and
// when back to active: the deprovisioning guard's baseline counts users
// that were active a whole window ago, so re-activating old users just
// before a mass revocation cannot raise the limit.
func stampDeactivated(u *scimv1.ScimUser, wasActive bool) {
	switch {
	case wasActive && !u.Spec.Active:
		u.Annotations[scimv1.AnnotationDeactivatedAt] = u.Annotations[scimv1.AnnotationLastModified]
	case !wasActive && u.Spec.Active:
		delete(u.Annotations, scimv1.AnnotationDeactivatedAt)
		u.Annotations[scimv1.AnnotationActivatedAt] = u.Annotations[scimv1.AnnotationLastModified]
	}
}
