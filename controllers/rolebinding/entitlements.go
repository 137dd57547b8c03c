package rolebinding

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// EntitlementReconciler reconciles ScimEntitlements: the catalog entries an
// identity provider grants users by SCIM role value (docs/governance.md).
type EntitlementReconciler struct{ *Reconciler }

// Reconcile projects one ScimEntitlement.
func (r EntitlementReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var e scimv1.ScimEntitlement
	if err := r.Client.Get(ctx, req.NamespacedName, &e); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return r.reconcile(ctx, entitled{&e})
}

// setupEntitlements registers the ScimEntitlement controller. A user's
// change re-reconciles the entitlements its roles name, before and after the
// change: the role value names the entitlement (ScimEntitlement.RoleID), so
// no index is needed.
func (r *Reconciler) setupEntitlements(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &scimv1.ScimEntitlement{}, indexEndpoint,
		func(o client.Object) []string {
			return []string{entitled{o.(*scimv1.ScimEntitlement)}.endpoint().String()}
		}); err != nil {
		return fmt.Errorf("indexing entitlements by endpoint: %w", err)
	}
	m := mapper{c: r.Client, list: func() client.ObjectList { return &scimv1.ScimEntitlementList{} }}
	return ctrl.NewControllerManagedBy(mgr).Named("scimentitlement").
		For(&scimv1.ScimEntitlement{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Watches(&scimv1.ScimUser{}, userRoles{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, rolesResent))).
		Watches(&scimv1.ScimEndpoint{}, handler.EnqueueRequestsFromMapFunc(m.forEndpoint), builder.WithPredicates(endpointChanged)).
		Watches(&rbacv1.RoleBinding{}, handler.EnqueueRequestsFromMapFunc(m.forChild), builder.WithPredicates(notOurWrite)).
		Watches(&rbacv1.ClusterRoleBinding{}, handler.EnqueueRequestsFromMapFunc(m.forChild), builder.WithPredicates(notOurWrite)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(m.all)).
		Complete(EntitlementReconciler{r})
}

// rolesResent passes a user update that only stamped its roles as sent
// again (the IdP re-sent unchanged roles after a reactivation), which
// changes no generation but makes the roles count (ScimUser.RolesCurrent).
var rolesResent = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[scimv1.AnnotationRolesSentAt] != e.ObjectNew.GetAnnotations()[scimv1.AnnotationRolesSentAt]
	},
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// userRoles enqueues the entitlements a ScimUser's roles name; on an update,
// those of the old and the new roles, so a revoked role is projected too.
type userRoles struct{}

func (userRoles) Create(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueueRoles(q, e.Object)
}

func (userRoles) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueueRoles(q, e.ObjectOld)
	enqueueRoles(q, e.ObjectNew)
}

func (userRoles) Delete(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueueRoles(q, e.Object)
}

func (userRoles) Generic(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	enqueueRoles(q, e.Object)
}

func enqueueRoles(q workqueue.TypedRateLimitingInterface[reconcile.Request], o client.Object) {
	u, ok := o.(*scimv1.ScimUser)
	if !ok {
		return
	}
	for _, r := range u.Spec.Roles {
		if r.Value != "" {
			ns, name := scimv1.EntitlementOf(u.Namespace, r.Value)
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}})
		}
	}
}
