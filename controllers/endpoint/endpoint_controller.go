// Package endpoint reconciles the status of ScimEndpoints: the base URL path,
// how many of the referenced tokens resolve, user and group counts, and the
// deprovisioning guard, which holds the projection of revocations when an
// IdP revokes too many users at once.
package endpoint

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/scimserver"
)

// Condition reasons of ScimEndpoint.
const (
	ReasonServing       = "Serving"
	ReasonNoValidTokens = "NoValidTokens"
)

// Reconciler writes ScimEndpoint status. It runs on the leader only.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Guard, when set, owns the deprovisioning guard's status: this
	// controller only asks it to evaluate approvals and limit changes, and
	// the in-process counting below (evaluateGuard) is not used.
	Guard *deprovision.Guard

	deleted deletions
}

// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimendpoints,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimendpoints/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimusers;scimgroups,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile computes and writes one endpoint's status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ep scimv1.ScimEndpoint
	if err := r.Client.Get(ctx, req.NamespacedName, &ep); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	tokens, err := scimserver.LoadTokens(ctx, r.APIReader, &ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	var users scimv1.ScimUserList
	if err := r.Client.List(ctx, &users, client.InNamespace(ep.Namespace),
		client.MatchingFields{scimserver.IndexUserEndpoint: ep.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing users of %s: %w", req.NamespacedName, err)
	}
	var groups scimv1.ScimGroupList
	if err := r.Client.List(ctx, &groups, client.InNamespace(ep.Namespace),
		client.MatchingFields{scimserver.IndexGroupEndpoint: ep.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing groups of %s: %w", req.NamespacedName, err)
	}

	before := ep.Status.DeepCopy()
	ep.Status.Path = scimserver.PathPrefix + ep.Namespace + "/" + ep.Name
	ep.Status.Users = int32(len(users.Items))
	ep.Status.Groups = int32(len(groups.Items))
	ep.Status.ValidTokens = int32(len(tokens))
	ep.Status.ObservedGeneration = ep.Generation
	cond := readyCondition(&ep)
	if meta.SetStatusCondition(&ep.Status.Conditions, cond) && r.Recorder != nil {
		kind := corev1.EventTypeNormal
		if cond.Status != metav1.ConditionTrue {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(&ep, nil, kind, cond.Reason, "Reconcile", cond.Message)
	}
	if r.Guard != nil {
		return r.reconcileWithGuard(ctx, &ep, before)
	}
	_, held := r.evaluateGuard(&ep, users.Items, time.Now())
	meta.SetStatusCondition(&ep.Status.Conditions, held)
	if heldChanged(before.Conditions, ep.Status.Conditions) && r.Recorder != nil {
		kind := corev1.EventTypeNormal
		if held.Status == metav1.ConditionTrue {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(&ep, nil, kind, held.Reason, "DeprovisioningGuard", held.Message)
	}
	if !apiequal(before, &ep.Status) {
		if err := r.Client.Status().Update(ctx, &ep); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil // a newer version is coming
			}
			return ctrl.Result{}, fmt.Errorf("updating ScimEndpoint %s status: %w", req.NamespacedName, err)
		}
	}
	// The approval is consumed only once the status records it.
	if err := r.clearApproval(ctx, &ep); err != nil {
		return ctrl.Result{}, fmt.Errorf("clearing the approval of ScimEndpoint %s: %w", req.NamespacedName, err)
	}
	// Counts change with every provisioning action; refresh them periodically
	// rather than on every ScimUser event.
	return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
}

// reconcileWithGuard writes the status fields this controller owns, then
// lets the Guard bring its ledger up to date with the spec and annotations,
// and removes an approval it consumed.
func (r *Reconciler) reconcileWithGuard(ctx context.Context, ep *scimv1.ScimEndpoint, before *scimv1.ScimEndpointStatus) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(ep)
	if !apiequal(before, &ep.Status) {
		if err := r.Client.Status().Update(ctx, ep); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
			}
			return ctrl.Result{}, fmt.Errorf("updating ScimEndpoint %s status: %w", key, err)
		}
	}
	approved, err := r.Guard.Evaluate(ctx, key)
	if err != nil {
		return ctrl.Result{}, err
	}
	if approved {
		// Evaluate read the annotation live; the cached ep may not show it.
		if err := r.removeApproval(ctx, key); err != nil {
			return ctrl.Result{}, fmt.Errorf("clearing the approval of ScimEndpoint %s: %w", key, err)
		}
	}
	return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
}

// readyCondition is Ready=True when at least one referenced token resolves.
func readyCondition(ep *scimv1.ScimEndpoint) metav1.Condition {
	c := metav1.Condition{Type: scimv1.ConditionReady, ObservedGeneration: ep.Generation}
	if ep.Status.ValidTokens == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, ReasonNoValidTokens
		c.Message = fmt.Sprintf("none of the %d referenced Secret keys holds a token of at least %d bytes",
			len(ep.Spec.TokenSecretRefs), scimserver.MinTokenLength)
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, ReasonServing
	c.Message = fmt.Sprintf("serving at %s with %d valid token(s)", ep.Status.Path, ep.Status.ValidTokens)
	return c
}

func apiequal(a, b *scimv1.ScimEndpointStatus) bool {
	if a.Path != b.Path || a.Users != b.Users || a.Groups != b.Groups || a.ValidTokens != b.ValidTokens ||
		a.ObservedGeneration != b.ObservedGeneration || len(a.Conditions) != len(b.Conditions) ||
		!equality.Semantic.DeepEqual(a.Deprovisioning, b.Deprovisioning) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}

// SetupWithManager registers the reconciler, watching endpoints and the
// metadata of the Secrets they reference.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("scimendpoint-status").
		For(&scimv1.ScimEndpoint{}).
		Watches(&scimv1.ScimUser{}, handler.EnqueueRequestsFromMapFunc(
			func(_ context.Context, o client.Object) []reconcile.Request {
				u := o.(*scimv1.ScimUser)
				return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: u.Namespace, Name: u.Spec.Endpoint}}}
			}), builder.WithPredicates(r.revocationEvents())).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(
			func(ctx context.Context, o client.Object) []reconcile.Request {
				var eps scimv1.ScimEndpointList
				if err := r.Client.List(ctx, &eps, client.InNamespace(o.GetNamespace()),
					client.MatchingFields{scimserver.IndexTokenSecret: o.GetName()}); err != nil {
					return nil
				}
				var reqs []reconcile.Request
				for _, ep := range eps.Items {
					reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
				}
				return reqs
			})).
		Complete(r)
}
