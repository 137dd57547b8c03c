package rolebinding

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// notOursError reports a child name taken by an object this binding does
// not own.
type notOursError struct{ key string }

func (e *notOursError) Error() string {
	return e.key + " exists and does not belong to this binding"
}

// applyChildren makes the binding's owned children equal to want, in two
// phases: first every revocation — owned children no longer wanted are
// deleted, children that lose a subject are rewritten, children whose
// immutable roleRef changed are deleted — then every grant — missing
// children are created, children that only gain subjects are rewritten. A
// failed write does not stop the others; the errors are joined. Only
// children whose subjects or labels drifted are written, so a single
// membership change touches a single shard. It returns the names of the
// children it wrote.
func applyChildren[T child](ctx context.Context, r *Reconciler, b binding, want []T, owned []T) ([]string, error) {
	var wrote []string
	var errs []error
	do := func(key string, write func() error) {
		if err := write(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		wrote = append(wrote, key[strings.LastIndexByte(key, '/')+1:])
	}
	have := map[string]T{}
	for _, o := range owned {
		have[o.GetNamespace()+"/"+o.GetName()] = o
	}
	wanted := map[string]T{}
	for _, w := range want {
		wanted[w.GetNamespace()+"/"+w.GetName()] = w
	}
	var grants []func()
	// Phase 1: revocations.
	for key, cur := range have {
		w, ok := wanted[key]
		switch {
		case !ok:
			do(key, func() error { return client.IgnoreNotFound(r.Client.Delete(ctx, cur)) })
		case roleRefOf(cur) != roleRefOf(w):
			do(key, func() error { return client.IgnoreNotFound(r.Client.Delete(ctx, cur)) })
			grants = append(grants, func() { do(key, func() error { return r.create(ctx, b, w) }) })
		case slices.Equal(subjectsOf(cur), subjectsOf(w)) && labelsMatch(cur, w):
		case removesSubjects(cur, w):
			do(key, func() error { return r.update(ctx, cur, w) })
		default:
			grants = append(grants, func() { do(key, func() error { return r.update(ctx, cur, w) }) })
		}
	}
	// Phase 2: grants.
	for key, w := range wanted {
		if _, ok := have[key]; !ok {
			grants = append(grants, func() { do(key, func() error { return r.create(ctx, b, w) }) })
		}
	}
	for _, g := range grants {
		g()
	}
	return wrote, errors.Join(errs...)
}

// removesSubjects reports whether writing want over cur takes a subject away.
func removesSubjects(cur, want client.Object) bool {
	keep := make(map[rbacv1.Subject]bool, len(subjectsOf(want)))
	for _, s := range subjectsOf(want) {
		keep[s] = true
	}
	for _, s := range subjectsOf(cur) {
		if !keep[s] {
			return true
		}
	}
	return false
}

// update rewrites cur's subjects and labels to want's.
func (r *Reconciler) update(ctx context.Context, cur, want client.Object) error {
	upd := cur.DeepCopyObject().(client.Object)
	setSubjects(upd, subjectsOf(want))
	mergeMeta(upd, want)
	return r.Client.Update(ctx, upd, FieldOwner)
}

// create creates a child, adopting an existing object of that name only if
// it is this binding's own.
func (r *Reconciler) create(ctx context.Context, b binding, w client.Object) error {
	err := r.Client.Create(ctx, w, FieldOwner)
	if apierrors.IsAlreadyExists(err) {
		err = r.adopt(ctx, b, w)
	}
	return err
}

// adopt takes over an existing object with our name whose labels were removed
// by hand (so the label-filtered cache no longer sees it), but only when it
// still names this binding by its label or annotation: a RoleBinding someone
// else created under that name is never taken over.
func (r *Reconciler) adopt(ctx context.Context, b binding, w client.Object) error {
	cur := w.DeepCopyObject().(client.Object)
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(w), cur); err != nil {
		return err
	}
	if cur.GetLabels()[LabelBindingUID] != string(b.GetUID()) && cur.GetAnnotations()[AnnotationBinding] != bindingRef(b) {
		key := cur.GetName()
		if ns := cur.GetNamespace(); ns != "" {
			key = ns + "/" + key
		}
		return &notOursError{key: kindOf(w) + " " + key}
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

func kindOf(o client.Object) string {
	if _, ok := o.(*rbacv1.ClusterRoleBinding); ok {
		return "ClusterRoleBinding"
	}
	return "RoleBinding"
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

func (r *Reconciler) applyRoleBindings(ctx context.Context, b binding, want []*rbacv1.RoleBinding) ([]string, error) {
	owned, err := r.ownedRoleBindings(ctx, b)
	if err != nil {
		return nil, err
	}
	return applyChildren(ctx, r, b, want, owned)
}

func (r *Reconciler) applyClusterRoleBindings(ctx context.Context, b binding, want []*rbacv1.ClusterRoleBinding) ([]string, error) {
	owned, err := r.ownedClusterRoleBindings(ctx, b)
	if err != nil {
		return nil, err
	}
	return applyChildren(ctx, r, b, want, owned)
}
