package rolebinding

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// child is a RoleBinding or ClusterRoleBinding, as applyChildren sees it.
type child interface {
	client.Object
	*rbacv1.RoleBinding | *rbacv1.ClusterRoleBinding
}

func roleRefOf(o client.Object) rbacv1.RoleRef {
	switch c := o.(type) {
	case *rbacv1.RoleBinding:
		return c.RoleRef
	case *rbacv1.ClusterRoleBinding:
		return c.RoleRef
	}
	return rbacv1.RoleRef{}
}

func subjectsOf(o client.Object) []rbacv1.Subject {
	switch c := o.(type) {
	case *rbacv1.RoleBinding:
		return c.Subjects
	case *rbacv1.ClusterRoleBinding:
		return c.Subjects
	}
	return nil
}

func setSubjects(o client.Object, s []rbacv1.Subject) {
	switch c := o.(type) {
	case *rbacv1.RoleBinding:
		c.Subjects = s
	case *rbacv1.ClusterRoleBinding:
		c.Subjects = s
	}
}

// applyChildren makes the binding's owned children equal to want: creates the
// missing, rewrites only those whose subjects or labels drifted (so a single
// membership change touches a single shard), recreates those whose immutable
// roleRef changed, and deletes owned children no longer wanted.
// It reports whether it wrote anything.
func applyChildren[T child](ctx context.Context, r *Reconciler, b binding, want []T, owned []T) (bool, error) {
	wrote := false
	have := map[string]T{}
	for _, o := range owned {
		have[o.GetNamespace()+"/"+o.GetName()] = o
	}
	for _, w := range want {
		key := w.GetNamespace() + "/" + w.GetName()
		cur, ok := have[key]
		delete(have, key)
		if ok && roleRefOf(cur) != roleRefOf(w) {
			if err := r.Client.Delete(ctx, cur); client.IgnoreNotFound(err) != nil {
				return wrote, fmt.Errorf("deleting %s to change its roleRef: %w", key, err)
			}
			ok = false
		}
		if !ok {
			err := r.Client.Create(ctx, w, FieldOwner)
			if apierrors.IsAlreadyExists(err) {
				err = r.adopt(ctx, w)
			}
			if err != nil {
				return wrote, fmt.Errorf("creating %s: %w", key, err)
			}
			wrote = true
			continue
		}
		// Subjects are plain strings: slices.Equal treats nil and empty
		// alike, as equality.Semantic does, without its reflection over
		// 100,000 subjects per pass.
		if slices.Equal(subjectsOf(cur), subjectsOf(w)) && labelsMatch(cur, w) {
			continue
		}
		upd := cur.DeepCopyObject().(client.Object)
		setSubjects(upd, subjectsOf(w))
		mergeMeta(upd, w)
		if err := r.Client.Update(ctx, upd, FieldOwner); err != nil {
			return wrote, fmt.Errorf("updating %s: %w", key, err)
		}
		wrote = true
	}
	for key, extra := range have {
		if err := r.Client.Delete(ctx, extra); client.IgnoreNotFound(err) != nil {
			return wrote, fmt.Errorf("deleting %s: %w", key, err)
		}
		wrote = true
	}
	return wrote, nil
}

// adopt takes over an existing object with our name whose labels were removed
// by hand (so the label-filtered cache no longer sees it).
func (r *Reconciler) adopt(ctx context.Context, w client.Object) error {
	cur := w.DeepCopyObject().(client.Object)
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(w), cur); err != nil {
		return err
	}
	if roleRefOf(cur) != roleRefOf(w) {
		if err := r.Client.Delete(ctx, cur); client.IgnoreNotFound(err) != nil {
			return err
		}
		return r.Client.Create(ctx, w, FieldOwner)
	}
	setSubjects(cur, subjectsOf(w))
	mergeMeta(cur, w)
	return r.Client.Update(ctx, cur, FieldOwner)
}

func labelsMatch(cur, want client.Object) bool {
	for k, v := range want.GetLabels() {
		if cur.GetLabels()[k] != v {
			return false
		}
	}
	for k, v := range want.GetAnnotations() {
		if cur.GetAnnotations()[k] != v {
			return false
		}
	}
	return true
}

func mergeMeta(dst, src client.Object) {
	l := dst.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	for k, v := range src.GetLabels() {
		l[k] = v
	}
	dst.SetLabels(l)
	a := dst.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range src.GetAnnotations() {
		a[k] = v
	}
	dst.SetAnnotations(a)
}

// ownedRoleBindings lists the binding's RoleBindings from the cache, without
// copies: applyChildren copies the one it updates.
func (r *Reconciler) ownedRoleBindings(ctx context.Context, b binding) ([]*rbacv1.RoleBinding, error) {
	var list rbacv1.RoleBindingList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{LabelBindingUID: string(b.GetUID())}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing RoleBindings of %s: %w", bindingRef(b), err)
	}
	out := make([]*rbacv1.RoleBinding, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (r *Reconciler) ownedClusterRoleBindings(ctx context.Context, b binding) ([]*rbacv1.ClusterRoleBinding, error) {
	var list rbacv1.ClusterRoleBindingList
	if err := r.Client.List(ctx, &list, client.MatchingLabels{LabelBindingUID: string(b.GetUID())}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing ClusterRoleBindings of %s: %w", bindingRef(b), err)
	}
	out := make([]*rbacv1.ClusterRoleBinding, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

func (r *Reconciler) applyRoleBindings(ctx context.Context, b binding, want []*rbacv1.RoleBinding) (bool, error) {
	owned, err := r.ownedRoleBindings(ctx, b)
	if err != nil {
		return false, err
	}
	return applyChildren(ctx, r, b, want, owned)
}

func (r *Reconciler) applyClusterRoleBindings(ctx context.Context, b binding, want []*rbacv1.ClusterRoleBinding) (bool, error) {
	owned, err := r.ownedClusterRoleBindings(ctx, b)
	if err != nil {
		return false, err
	}
	return applyChildren(ctx, r, b, want, owned)
}

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
