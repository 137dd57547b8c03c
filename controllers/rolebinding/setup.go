package rolebinding

import (
	"context"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Indexes of the binding kinds: by the ScimEndpoint ("<ns>/<name>") and by the
// group ("<ns>/<group id>" once resolved, "<ns>/<endpoint>/name:<lower displayName>" before).
const (
	indexEndpoint = "rbac.endpoint"
	indexGroup    = "rbac.group"
)

func groupKeys(b binding) []string {
	ep := b.endpoint()
	keys := []string{ep.Namespace + "/" + ep.Name + "/name:" + strings.ToLower(b.group().DisplayName)}
	if id := b.group().ID; id != "" {
		keys = append(keys, ep.Namespace+"/"+id)
	}
	if id := b.status().GroupID; id != "" {
		keys = append(keys, ep.Namespace+"/"+id)
	}
	return keys
}

func asBinding(o client.Object) binding {
	switch b := o.(type) {
	case *scimv1.ScimRoleBinding:
		return namespaced{b}
	case *scimv1.ScimClusterRoleBinding:
		return clusterScoped{b}
	}
	return nil
}

// NamespacedReconciler reconciles ScimRoleBindings.
type NamespacedReconciler struct{ *Reconciler }

// Reconcile projects one ScimRoleBinding.
func (r NamespacedReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var b scimv1.ScimRoleBinding
	if err := r.Client.Get(ctx, req.NamespacedName, &b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return r.reconcile(ctx, namespaced{&b})
}

// ClusterReconciler reconciles ScimClusterRoleBindings.
type ClusterReconciler struct{ *Reconciler }

// Reconcile projects one ScimClusterRoleBinding.
func (r ClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var b scimv1.ScimClusterRoleBinding
	if err := r.Client.Get(ctx, req.NamespacedName, &b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return r.reconcile(ctx, clusterScoped{&b})
}

// SetupWithManager registers both controllers, their indexes and watches. A
// change of a user, a membership shard, a group or an endpoint re-reconciles
// only the bindings it affects, found through indexes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	users, err := newUserStore(ctx, mgr.GetCache())
	if err != nil {
		return err
	}
	r.users = users
	for _, obj := range []client.Object{&scimv1.ScimRoleBinding{}, &scimv1.ScimClusterRoleBinding{}} {
		if err := mgr.GetFieldIndexer().IndexField(ctx, obj, indexEndpoint, func(o client.Object) []string {
			return []string{asBinding(o).endpoint().String()}
		}); err != nil {
			return fmt.Errorf("indexing bindings by endpoint: %w", err)
		}
		if err := mgr.GetFieldIndexer().IndexField(ctx, obj, indexGroup, func(o client.Object) []string {
			return groupKeys(asBinding(o))
		}); err != nil {
			return fmt.Errorf("indexing bindings by group: %w", err)
		}
	}
	for _, kind := range []struct {
		name string
		obj  client.Object
		rec  reconcile.Reconciler
		list func() client.ObjectList
	}{
		{"scimrolebinding", &scimv1.ScimRoleBinding{}, NamespacedReconciler{r}, func() client.ObjectList { return &scimv1.ScimRoleBindingList{} }},
		{"scimclusterrolebinding", &scimv1.ScimClusterRoleBinding{}, ClusterReconciler{r}, func() client.ObjectList { return &scimv1.ScimClusterRoleBindingList{} }},
	} {
		m := mapper{c: r.Client, list: kind.list}
		b := ctrl.NewControllerManagedBy(mgr).Named(kind.name).
			For(kind.obj, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
			Watches(&scimv1.ScimUser{}, handler.EnqueueRequestsFromMapFunc(m.forUser), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			Watches(&scimv1.ScimMembership{}, handler.EnqueueRequestsFromMapFunc(m.forMembership)).
			Watches(&scimv1.ScimGroup{}, handler.EnqueueRequestsFromMapFunc(m.forGroup), builder.WithPredicates(groupChanged)).
			Watches(&scimv1.ScimEndpoint{}, handler.EnqueueRequestsFromMapFunc(m.forEndpoint), builder.WithPredicates(endpointChanged)).
			Watches(&rbacv1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(m.forChild), builder.WithPredicates(notOurWrite)).
			Watches(&rbacv1.ClusterRoleBinding{}, handler.EnqueueRequestsFromMapFunc(m.forChild), builder.WithPredicates(notOurWrite))
		switch kind.name {
		case "scimclusterrolebinding":
			b = b.Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(m.all))
		case "scimrolebinding":
			b = b.Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(m.crossNamespace),
				builder.WithPredicates(labelsChanged))
		}
		if err := b.Complete(kind.rec); err != nil {
			return err
		}
	}
	return r.setupEntitlements(mgr)
}

// mapper maps events of related objects to the bindings of one kind.
type mapper struct {
	c    client.Client
	list func() client.ObjectList
}

func (m mapper) byIndex(ctx context.Context, field, value string) []reconcile.Request {
	list := m.list()
	if err := m.c.List(ctx, list, client.MatchingFields{field: value}); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	switch l := list.(type) {
	case *scimv1.ScimRoleBindingList:
		for i := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&l.Items[i])})
		}
	case *scimv1.ScimClusterRoleBindingList:
		for i := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&l.Items[i])})
		}
	case *scimv1.ScimEntitlementList:
		for i := range l.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&l.Items[i])})
		}
	}
	return reqs
}

func (m mapper) forGroupID(ctx context.Context, ns, id string) []reconcile.Request {
	return m.byIndex(ctx, indexGroup, ns+"/"+id)
}

func (m mapper) forUser(ctx context.Context, o client.Object) []reconcile.Request {
	var shards scimv1.ScimMembershipList
	// Shards of large groups are hundreds of kilobytes: read, not copied.
	if err := m.c.List(ctx, &shards, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{scimstore.IndexMembershipMember: o.GetName()}, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	seen := map[string]bool{}
	for _, sh := range shards.Items {
		if !seen[sh.Spec.Group] {
			seen[sh.Spec.Group] = true
			reqs = append(reqs, m.forGroupOf(ctx, o.GetNamespace(), sh.Spec.Group)...)
		}
	}
	return reqs
}

// forMembership maps a shard to the bindings of its group (as forUser maps a
// member): by the group's id, and by its name too, for a binding whose pass found the group by name
// but whose pin (status.groupID) has not reached the cache yet. The group's
// lastModified stamp, which groupChanged drops, was what reached those.
func (m mapper) forMembership(ctx context.Context, o client.Object) []reconcile.Request {
	return m.forGroupOf(ctx, o.GetNamespace(), o.(*scimv1.ScimMembership).Spec.Group)
}

// forGroupOf maps group id's change (a member's or a shard's) to the
// bindings of the group by id and, through the cached group, by name.
func (m mapper) forGroupOf(ctx context.Context, ns, id string) []reconcile.Request {
	var g scimv1.ScimGroup
	if err := m.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, &g); err == nil {
		return m.forGroup(ctx, &g)
	}
	return m.forGroupID(ctx, ns, id)
}

func (m mapper) forGroup(ctx context.Context, o client.Object) []reconcile.Request {
	g := o.(*scimv1.ScimGroup)
	reqs := m.forGroupID(ctx, g.Namespace, g.Name)
	return append(reqs, m.byIndex(ctx, indexGroup,
		g.Namespace+"/"+g.Spec.Endpoint+"/name:"+strings.ToLower(g.Spec.DisplayName))...)
}

func (m mapper) forEndpoint(ctx context.Context, o client.Object) []reconcile.Request {
	return m.byIndex(ctx, indexEndpoint, client.ObjectKeyFromObject(o).String())
}

// forChild maps an owned RoleBinding or ClusterRoleBinding back to its binding,
// so hand edits and deletions are corrected.
func (m mapper) forChild(_ context.Context, o client.Object) []reconcile.Request {
	ref := o.GetAnnotations()[AnnotationBinding]
	parts := strings.SplitN(ref, "/", 3)
	if len(parts) != 3 {
		return nil
	}
	want := "ScimRoleBinding"
	switch m.list().(type) {
	case *scimv1.ScimClusterRoleBindingList:
		want = "ScimClusterRoleBinding"
	case *scimv1.ScimEntitlementList:
		want = "ScimEntitlement"
	}
	if parts[0] != want {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: parts[1], Name: parts[2]}}}
}

func (m mapper) all(ctx context.Context, _ client.Object) []reconcile.Request {
	list := m.list()
	if err := m.c.List(ctx, list); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	switch l := list.(type) {
	case *scimv1.ScimClusterRoleBindingList:
		for i := range l.Items {
			if l.Items[i].Spec.Target.NamespaceSelector != nil || len(l.Items[i].Spec.Target.Namespaces) > 0 {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&l.Items[i])})
			}
		}
	case *scimv1.ScimEntitlementList:
		for i := range l.Items {
			for _, g := range l.Items[i].Spec.Grants {
				if !g.ClusterWide {
					reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&l.Items[i])})
					break
				}
			}
		}
	}
	return reqs
}

// crossNamespace maps a namespace's label change to its ScimRoleBindings
// that use another namespace's endpoint: whether that endpoint's
// allowedNamespaces selector allows them may have changed. Only the
// namespace's own bindings are listed, from the cache.
func (m mapper) crossNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var list scimv1.ScimRoleBindingList
	if err := m.c.List(ctx, &list, client.InNamespace(o.GetName())); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if b := &list.Items[i]; b.EndpointRef().Namespace != b.Namespace {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(b)})
		}
	}
	return reqs
}

// labelsChanged passes only namespace updates that change labels: the only
// change of a namespace an allowedNamespaces selector sees.
var labelsChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !equality.Semantic.DeepEqual(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	},
}

// notOurWrite drops update events of owned children whose latest change was
// the operator's own write, so each write does not trigger a second pass;
// edits by anyone else, creations and deletions still reconcile.
var notOurWrite = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		fields := e.ObjectNew.GetManagedFields()
		var latest int64
		for _, f := range fields {
			if f.Time != nil && f.Time.Unix() > latest {
				latest = f.Time.Unix()
			}
		}
		// Timestamps have one-second resolution: on a tie, anyone else's
		// change counts, so a hand edit is never missed.
		for _, f := range fields {
			if f.Time != nil && f.Time.Unix() == latest && f.Manager != string(FieldOwner) {
				return true
			}
		}
		return false
	},
}

// groupChanged passes the ScimGroup events that can change a grant:
// creation, deletion, a spec change (a new generation: a rename or a new
// externalId), the deletion timestamp and labels. The SCIM server stamps the
// group's lastModified annotation after every membership change, whose own
// event already brings the binding back: a second pass over every member
// would find nothing to do.
var groupChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, cur := e.ObjectOld, e.ObjectNew
		return old.GetGeneration() != cur.GetGeneration() || !old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp()) ||
			!maps.Equal(old.GetLabels(), cur.GetLabels())
	},
}

// endpointChanged passes the ScimEndpoint events that can change a grant:
// creation, deletion, a spec change, and the deprovisioning guard holding or
// releasing. The counts in its status change with every SCIM write and would
// otherwise re-reconcile every binding of the endpoint each time.
var endpointChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*scimv1.ScimEndpoint)
		ep, okNew := e.ObjectNew.(*scimv1.ScimEndpoint)
		return !okOld || !okNew || old.Generation != ep.Generation ||
			!old.DeletionTimestamp.Equal(ep.DeletionTimestamp) || old.RevocationsHeld() != ep.RevocationsHeld()
	},
}
