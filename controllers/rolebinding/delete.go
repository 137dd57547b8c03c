package rolebinding

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// reconcileDelete removes every grant the binding made, then its finalizer.
func (r *Reconciler) reconcileDelete(ctx context.Context, b binding) error {
	if !controllerutil.ContainsFinalizer(b.object(), Finalizer) {
		return nil
	}
	if _, err := r.applyRoleBindings(ctx, b, nil); err != nil {
		return err
	}
	if _, err := r.applyClusterRoleBindings(ctx, b, nil); err != nil {
		return err
	}
	// The cache may lag: confirm with a live list that nothing is left.
	for _, list := range []client.ObjectList{&rbacv1.RoleBindingList{}, &rbacv1.ClusterRoleBindingList{}} {
		if err := r.APIReader.List(ctx, list, client.MatchingLabels{LabelBindingUID: string(b.GetUID())}); err != nil {
			return fmt.Errorf("confirming cleanup of %s: %w", bindingRef(b), err)
		}
		switch l := list.(type) {
		case *rbacv1.RoleBindingList:
			for i := range l.Items {
				if err := r.Client.Delete(ctx, &l.Items[i]); client.IgnoreNotFound(err) != nil {
					return err
				}
			}
		case *rbacv1.ClusterRoleBindingList:
			for i := range l.Items {
				if err := r.Client.Delete(ctx, &l.Items[i]); client.IgnoreNotFound(err) != nil {
					return err
				}
			}
		}
	}
	controllerutil.RemoveFinalizer(b.object(), Finalizer)
	if err := r.Client.Update(ctx, b.object()); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.Lag.Forget(string(b.GetUID()))
	r.event(b, "Normal", ReasonRevoked, "removed every grant of %s", bindingRef(b))
	return nil
}
