// Package endpoint reconciles the status of ScimEndpoints: the base URL path,
// how many of the referenced tokens resolve, user and group counts, and the
// approvals and limit changes of the deprovisioning guard (internal/deprovision,
// which the projections ask before they revoke).
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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Condition reasons of ScimEndpoint.
const (
	ReasonServing       = "Serving"
	ReasonNoValidTokens = "NoValidTokens"
	// ReasonInvalidUserNamePattern: spec.userNamePattern does not compile;
	// every create is refused until it is fixed.
	ReasonInvalidUserNamePattern = "InvalidUserNamePattern"
)

// Reconciler writes ScimEndpoint status. It runs on the leader only.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Informers are the cache's (the manager's cache): the endpoint's users
	// and groups are counted in its indexes without copying them.
	Informers cache.Informers
	// Guard applies approvals and limit changes (nil: no guard).
	Guard *deprovision.Guard
}

// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimendpoints,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimendpoints/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimusers;scimgroups,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",namespace=scim-system,resources=secrets,verbs=get;list;watch

// Reconcile computes and writes one endpoint's status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	approved := false
	if r.Guard != nil {
		var err error
		if approved, err = r.Guard.Evaluate(ctx, req.NamespacedName); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Read live: the guard may just have written the status.
	var ep scimv1.ScimEndpoint
	if err := r.APIReader.Get(ctx, req.NamespacedName, &ep); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	tokens, problems, err := scimstore.LoadTokens(ctx, r.APIReader, &ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	users, err := r.count(ctx, &scimv1.ScimUser{}, scimstore.IndexUserEndpoint, &ep)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("counting users of %s: %w", req.NamespacedName, err)
	}
	groups, err := r.count(ctx, &scimv1.ScimGroup{}, scimstore.IndexGroupEndpoint, &ep)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("counting groups of %s: %w", req.NamespacedName, err)
	}

	before := ep.Status.DeepCopy()
	status, changed := endpointStatus(&ep, observed{ValidTokens: len(tokens), Problems: problems,
		Users: users, Groups: groups, Now: time.Now()})
	ep.Status = status
	if changed && r.Recorder != nil {
		cond := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionReady)
		kind := corev1.EventTypeNormal
		if cond.Status != metav1.ConditionTrue {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(&ep, nil, kind, cond.Reason, "Reconcile", "%s", cond.Message)
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
	if approved {
		if err := r.clearApproval(ctx, &ep); err != nil {
			return ctrl.Result{}, fmt.Errorf("clearing the approval of ScimEndpoint %s: %w", req.NamespacedName, err)
		}
	}
	// Counts change with every provisioning action; refresh them periodically
	// rather than on every ScimUser event.
	return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
}

// count returns how many objects of kind the endpoint holds in the cache
// (field indexes them by endpoint), those being deleted included.
func (r *Reconciler) count(ctx context.Context, kind client.Object, field string, ep *scimv1.ScimEndpoint) (int, error) {
	return scimstore.CountIndexed(ctx, r.Informers, kind, field, ep.Namespace, ep.Name)
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
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(
			func(ctx context.Context, o client.Object) []reconcile.Request {
				var eps scimv1.ScimEndpointList
				if err := r.Client.List(ctx, &eps, client.InNamespace(o.GetNamespace()),
					client.MatchingFields{scimstore.IndexTokenSecret: o.GetName()}); err != nil {
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

// clearApproval removes the approval annotation once the guard recorded it.
func (r *Reconciler) clearApproval(ctx context.Context, ep *scimv1.ScimEndpoint) error {
	if ep.Annotations[scimv1.AnnotationApproveDeprovisioning] == "" {
		return nil
	}
	patch := client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"`+scimv1.AnnotationApproveDeprovisioning+`":null}}}`))
	return r.Client.Patch(ctx, &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: ep.Name}}, patch)
}
