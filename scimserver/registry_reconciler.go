package scimserver

import (
	"context"
	"fmt"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// RegistryReconciler loads each ScimEndpoint's tokens and limits into the
// Registry. It runs on every replica (not only the leader) because every
// replica serves SCIM, and it writes nothing to the API server.
//
// Secrets are watched as metadata only, and read through the uncached
// APIReader, so no token material sits in the informer cache.
type RegistryReconciler struct {
	Client    client.Client
	APIReader client.Reader
	Registry  *Registry
	// MaxRPS and MaxBurst clamp every endpoint's spec.rateLimit (0: no
	// clamp): Options.MaxEndpointRPS and Options.MaxEndpointBurst.
	MaxRPS, MaxBurst int

	clamped     *prometheus.GaugeVec // set by SetupWithManager
	validTokens *prometheus.GaugeVec // set by SetupWithManager
}

// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimendpoints,verbs=get;list;watch
// Secrets are granted by a Role in each namespace holding ScimEndpoints, never
// cluster-wide: scim-system stands for them here, the chart renders the Role
// into every namespace of its value secretNamespaces (--secret-namespaces).
// +kubebuilder:rbac:groups="",namespace=scim-system,resources=secrets,verbs=get;list;watch

// LoadAll loads every endpoint from the cache. The SCIM server calls it once
// before listening, so its first request never meets an empty registry.
func (r *RegistryReconciler) LoadAll(ctx context.Context) error {
	var eps scimv1.ScimEndpointList
	if err := r.Client.List(ctx, &eps); err != nil {
		return fmt.Errorf("listing ScimEndpoints: %w", err)
	}
	// One endpoint that cannot be loaded (a passing API error) must not
	// keep the server from serving the others: it is skipped here and its
	// reconcile retries it.
	for _, ep := range eps.Items {
		key := client.ObjectKeyFromObject(&ep)
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			logf.FromContext(ctx).Error(err, "loading a ScimEndpoint before serving; it is retried", "endpoint", key.String())
		}
	}
	return nil
}

// Reconcile loads one endpoint's configuration.
func (r *RegistryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ep scimv1.ScimEndpoint
	if err := r.Client.Get(ctx, req.NamespacedName, &ep); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting ScimEndpoint %s: %w", req.NamespacedName, err)
	}
	if !ep.DeletionTimestamp.IsZero() {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	tokens, _, err := scimstore.LoadTokens(ctx, r.APIReader, &ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.validTokens != nil {
		r.validTokens.WithLabelValues(req.NamespacedName.String()).Set(float64(len(tokens)))
	}
	rps, burst := r.limit(ctx, &ep)
	maxPage := int(ep.Spec.MaxPageSize)
	if maxPage <= 0 {
		maxPage = 1000
	}
	userNames, err := ep.Spec.UserNameRegexp()
	if err != nil {
		// Fail closed: no userName matches an invalid pattern. The
		// endpoint's Ready condition says why.
		userNames = matchNothing
	}
	quirks := schema.Lenient()
	if ep.Spec.Compatibility == scimv1.CompatibilityStrict {
		quirks = schema.Strict()
	}
	r.Registry.Set(&Endpoint{
		Key:         req.NamespacedName,
		Tokens:      tokens,
		Strict:      ep.Spec.Compatibility == scimv1.CompatibilityStrict,
		Quirks:      quirks,
		MaxPageSize: maxPage,
		UserNames:   userNames,
		MaxUsers:    int(ep.Spec.Quota.MaxUsers),
		MaxGroups:   int(ep.Spec.Quota.MaxGroups),
	}, rps, burst)
	return ctrl.Result{}, nil
}

// limit returns the endpoint's token bucket, clamped to the operator's
// maximum. A clamp is logged and counted, not written to the endpoint's
// status (the ScimEndpoint controller owns that, and this reconciler runs on
// every replica and writes nothing).
func (r *RegistryReconciler) limit(ctx context.Context, ep *scimv1.ScimEndpoint) (float64, int) {
	rps, burst, clamped := endpointLimit(ep.Spec.RateLimit, r.MaxRPS, r.MaxBurst)
	if clamped {
		logf.FromContext(ctx).Info("endpoint rate limit clamped to the operator's maximum",
			"endpoint", client.ObjectKeyFromObject(ep).String(),
			"requestedRPS", ep.Spec.RateLimit.RequestsPerSecond, "requestedBurst", ep.Spec.RateLimit.Burst,
			"rps", rps, "burst", burst)
	}
	if r.clamped != nil {
		v := 0.0
		if clamped {
			v = 1
		}
		r.clamped.WithLabelValues(client.ObjectKeyFromObject(ep).String()).Set(v)
	}
	return rps, burst
}

// forget stops serving an endpoint and drops its series.
func (r *RegistryReconciler) forget(key types.NamespacedName) {
	r.Registry.Delete(key)
	if r.clamped != nil {
		r.clamped.DeleteLabelValues(key.String())
		r.validTokens.DeleteLabelValues(key.String())
	}
}

// matchNothing stands for a userNamePattern that does not compile.
var matchNothing = regexp.MustCompile(`[^\s\S]`)

// SetupWithManager registers the reconciler (scimstore.RegisterIndexes must
// have been called); it watches ScimEndpoints and the
// metadata of the Secrets they reference.
func (r *RegistryReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.clamped = newClampMetric(defaultRegistry())
	r.validTokens = newValidTokensMetric(defaultRegistry())
	return ctrl.NewControllerManagedBy(mgr).
		Named("scim-registry").
		For(&scimv1.ScimEndpoint{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.endpointsForSecret)).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		Complete(r)
}

func (r *RegistryReconciler) endpointsForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var eps scimv1.ScimEndpointList
	if err := r.Client.List(ctx, &eps, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{scimstore.IndexTokenSecret: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(eps.Items))
	for _, ep := range eps.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
	}
	return reqs
}
