package tenantapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// Requeue delays of a successful pass that left work behind.
const (
	// pendingRetry: some users are still to get their finalizer.
	pendingRetry = 100 * time.Millisecond
	// repairRetry: a write found the tables changed behind the operator's back.
	repairRetry = 100 * time.Millisecond
	// pingTimeout bounds the ping that tells an unreachable database from a
	// failing one.
	pingTimeout = 5 * time.Second
	// blockedRetry: the endpoint or a scope group is missing; its creation
	// is watched, this is a backstop.
	blockedRetry = 30 * time.Second
)

// Reconciler projects the users and groups of an endpoint into the tables of
// each TenantApp. It runs on the leader only; two replicas racing (around a
// leader change) are safe thanks to the version guard of the tables.
type Reconciler struct {
	// Client is the manager's cached client; the cache must have the SCIM
	// server's indexes and this package's (RegisterIndexes) registered.
	Client client.Client
	// Informers are the cache's (the manager's cache): a pass reads the
	// endpoint's users, groups and shards from their indexes.
	Informers cache.Informers
	// APIReader reads Secrets, which are not cached, and users live after a conflict.
	APIReader client.Reader
	// Recorder records an Event when a condition changes.
	Recorder events.EventRecorder
	// NewClient opens tenant database clients; PostgresClient in production,
	// a tenantdb.Fake in unit tests.
	NewClient ClientFactory
	// Metrics may be nil.
	Metrics *Metrics
	// Guard is asked before a pass revokes users (deactivates or deletes
	// active rows); nil admits everything (unit tests).
	Guard *deprovision.Guard

	apps appStates
}

// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=tenantapps,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=tenantapps/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimusers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimgroups;scimmemberships,verbs=get;list;watch
// Connection Secrets are granted by a Role in each namespace holding
// TenantApps, never cluster-wide (see scimserver.RegistryReconciler).
// +kubebuilder:rbac:groups="",namespace=scim-system,resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile runs one pass for a TenantApp: database, finalizers and status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	app := &scimv1.TenantApp{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.apps.drop(req.NamespacedName)
			r.Metrics.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, app)
	}
	if err := r.ensureFinalizer(ctx, app); err != nil {
		return quietConflict(err)
	}

	before := app.DeepCopy()
	var o outcome
	defer func() {
		if err := r.writeStatus(ctx, before, app, o); err != nil {
			reterr = errors.Join(reterr, err)
		}
	}()
	return r.reconcileNormal(ctx, app, &o)
}

// reconcileNormal projects the endpoint into the database, then releases the
// deleted users every TenantApp has unwound (also when the database is down:
// the escape hatch must work then).
func (r *Reconciler) reconcileNormal(ctx context.Context, app *scimv1.TenantApp, o *outcome) (ctrl.Result, error) {
	st := r.apps.get(client.ObjectKeyFromObject(app))
	in, err := r.gather(ctx, app)
	if err != nil {
		o.skipped = true
		return ctrl.Result{}, err
	}
	// An endpoint that does not allow this namespace gives it nothing: the
	// database is not even opened, and the tables keep what they hold.
	var result ctrl.Result
	if o.endpointNotAllowed = in.endpointFound && !in.endpointAllowed; !o.endpointNotAllowed {
		if result, err = r.syncDatabase(ctx, app, st, in, o); err != nil {
			o.skipped = true
			return ctrl.Result{}, err
		}
	}
	ref := app.EndpointRef()
	pending, err := r.releaseDeleted(ctx, ref.Namespace, ref.Name, in.users)
	if err != nil {
		return ctrl.Result{}, err
	}
	if pending+o.pendingUsers > 0 {
		result.RequeueAfter = min(result.RequeueAfter, pendingRetry)
	}
	return result, nil
}

// syncDatabase runs the database phases unless a backoff is in progress. A
// failing database is not an error of the reconcile: it is reported in
// status and retried after the backoff.
func (r *Reconciler) syncDatabase(ctx context.Context, app *scimv1.TenantApp, st *appState, in inputs, o *outcome) (ctrl.Result, error) {
	wait, err := r.backingOff(ctx, app, st)
	if err != nil || wait > 0 {
		o.skipped = true
		return ctrl.Result{RequeueAfter: wait}, err
	}
	phases := []func() error{
		func() error { return r.connect(ctx, app, st) },
		func() error { return r.migrate(ctx, app, st) },
		func() error { return r.project(ctx, app, st, in, o) },
	}
	for _, phase := range phases {
		if err := phase(); err != nil {
			return r.failed(ctx, app, st, o, err)
		}
	}
	st.succeeded()
	r.Metrics.reachable(client.ObjectKeyFromObject(app), true)
	if o.blocked() {
		return ctrl.Result{RequeueAfter: blockedRetry}, nil
	}
	next := time.Until(st.lastFullSync.Add(resyncInterval(app)))
	if st.needFullSync {
		next = repairRetry
	}
	return ctrl.Result{RequeueAfter: max(next, repairRetry)}, nil
}

// backingOff returns how long to wait before the next database attempt after
// a failure. A changed spec or Secret ends the wait: it may be the fix.
func (r *Reconciler) backingOff(ctx context.Context, app *scimv1.TenantApp, st *appState) (time.Duration, error) {
	wait := time.Until(st.retryAt)
	if wait <= 0 || app.Generation != st.failedGeneration {
		return 0, nil
	}
	version, err := r.secretVersion(ctx, app)
	if err != nil || version != st.secretVersion {
		return 0, err
	}
	return wait, nil
}

// failed classifies a failed phase into the outcome. Database failures are
// retried after a backoff; Kubernetes API errors are returned.
func (r *Reconciler) failed(ctx context.Context, app *scimv1.TenantApp, st *appState, o *outcome, err error) (ctrl.Result, error) {
	var secret *secretError
	var db *dbError
	switch {
	case errors.As(err, &secret):
		o.secretProblem, o.secretReason = secret.msg, secret.reason
		return ctrl.Result{}, nil // the Secret watch brings the fix
	case !errors.As(err, &db):
		o.skipped = true
		return ctrl.Result{}, err
	}
	r.Metrics.failedPass(client.ObjectKeyFromObject(app))
	o.err, o.retryIn = err, st.failed(time.Now(), app.Generation)
	switch {
	case errors.Is(err, tenantdb.ErrSchemaTooNew):
		o.tooNew = true
	case st.client == nil || ping(ctx, st.client) != nil:
		o.unreachable = true
	default:
		o.syncFailed = true
	}
	r.Metrics.reachable(client.ObjectKeyFromObject(app), !o.unreachable)
	log.FromContext(ctx).Error(err, "tenant database pass failed", "unreachable", o.unreachable, "retryIn", o.retryIn)
	return ctrl.Result{RequeueAfter: o.retryIn}, nil
}

// ping reports whether the database answers at all.
func ping(ctx context.Context, c tenantdb.Client) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return c.Ping(ctx)
}

// reconcileDelete forgets the app's client, releases the users only it was
// holding and removes its finalizer. The tables are left to the application.
func (r *Reconciler) reconcileDelete(ctx context.Context, app *scimv1.TenantApp) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(app)
	r.apps.drop(key)
	r.Metrics.forget(key)
	if !controllerutil.ContainsFinalizer(app, FinalizerApp) {
		return ctrl.Result{}, nil
	}
	ref := app.EndpointRef()
	if err := r.sweepHeld(ctx, ref.Namespace, key); err != nil {
		return ctrl.Result{}, err
	}
	in, err := r.gather(ctx, app)
	if err != nil {
		return ctrl.Result{}, err
	}
	if _, err := r.releaseDeleted(ctx, ref.Namespace, ref.Name, in.users); err != nil {
		return ctrl.Result{}, err
	}
	patched := app.DeepCopy()
	controllerutil.RemoveFinalizer(patched, FinalizerApp)
	if err := r.Client.Patch(ctx, patched, client.MergeFromWithOptions(app, client.MergeFromWithOptimisticLock{}), fieldOwner); err != nil {
		return quietConflict(fmt.Errorf("removing finalizer of TenantApp %s: %w", key, client.IgnoreNotFound(err)))
	}
	return ctrl.Result{}, nil
}

// quietConflict turns a conflict into a short requeue: a newer version of
// the object is on its way, which is no error worth logging.
func quietConflict(err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: repairRetry}, nil
	}
	return ctrl.Result{}, err
}

// ensureFinalizer adds FinalizerApp, persisted before any row is written.
func (r *Reconciler) ensureFinalizer(ctx context.Context, app *scimv1.TenantApp) error {
	if controllerutil.ContainsFinalizer(app, FinalizerApp) {
		return nil
	}
	before := app.DeepCopy()
	controllerutil.AddFinalizer(app, FinalizerApp)
	if err := r.Client.Patch(ctx, app, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), fieldOwner); err != nil {
		return fmt.Errorf("adding finalizer to TenantApp %s: %w", client.ObjectKeyFromObject(app), err)
	}
	return nil
}

// writeStatus applies the pass's outcome to status, records an Event per
// changed condition and patches status once, when it changed.
func (r *Reconciler) writeStatus(ctx context.Context, before, app *scimv1.TenantApp, o outcome) error {
	for _, c := range applyStatus(app, o, time.Now()) {
		if r.Recorder == nil {
			break
		}
		kind, note := corev1.EventTypeNormal, c.Message
		if c.Status != metav1.ConditionTrue {
			kind = corev1.EventTypeWarning
		}
		if o.err != nil {
			note = fmt.Sprintf("%s: %v", c.Message, o.err)
		}
		r.Recorder.Eventf(app, nil, kind, c.Reason, "Sync", "%s", note)
	}
	if equality.Semantic.DeepEqual(before.Status, app.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, app, client.MergeFrom(before), fieldOwner); err != nil {
		return fmt.Errorf("patching TenantApp %s status: %w", client.ObjectKeyFromObject(app), client.IgnoreNotFound(err))
	}
	return nil
}

// SetupWithManager registers the indexes and the controller. It watches
// TenantApps, and the endpoint's ScimUsers, ScimGroups and ScimMemberships
// and the connection Secrets' metadata, mapped to TenantApps through indexes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		r.apps.closeAll()
		return nil
	})); err != nil {
		return fmt.Errorf("adding the tenant database client closer: %w", err)
	}
	changed := builder.WithPredicates(predicate.Or[client.Object](
		predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))
	return ctrl.NewControllerManagedBy(mgr).
		Named("tenantapp").
		For(&scimv1.TenantApp{}, changed).
		Watches(&scimv1.ScimUser{}, handler.EnqueueRequestsFromMapFunc(r.requestsForUser), changed).
		// A group's rows carry its spec alone; the SCIM server stamps its
		// lastModified annotation after every member change, whose shards
		// already start a pass.
		Watches(&scimv1.ScimGroup{}, handler.EnqueueRequestsFromMapFunc(r.requestsForGroup),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&scimv1.ScimMembership{}, handler.EnqueueRequestsFromMapFunc(r.requestsForMembership)).
		Watches(&scimv1.ScimEndpoint{}, handler.EnqueueRequestsFromMapFunc(
			func(ctx context.Context, o client.Object) []reconcile.Request {
				return r.requestsForEndpoint(ctx, o.GetNamespace(), o.GetName())
			}), builder.WithPredicates(endpointChanged)).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.requestsForSecret)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.requestsForNamespace),
			builder.WithPredicates(labelsChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}

// endpointChanged passes the ScimEndpoint updates where its spec changed
// (allowedNamespaces decides which TenantApps it serves) or its
// deprovisioning guard started or stopped holding revocations, and creations
// (a TenantApp may be waiting for its endpoint).
var endpointChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return true },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*scimv1.ScimEndpoint)
		ep, okNew := e.ObjectNew.(*scimv1.ScimEndpoint)
		return okOld && okNew && (old.Generation != ep.Generation || old.RevocationsHeld() != ep.RevocationsHeld())
	},
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

// endpointAllows reports whether ep allows a TenantApp in namespace ns to
// use it (spec.allowedNamespaces; its own namespace always). A namespace
// that is gone allows nothing.
func (r *Reconciler) endpointAllows(ctx context.Context, ep *scimv1.ScimEndpoint, ns string) (bool, error) {
	if ns == ep.Namespace {
		return true, nil
	}
	var n corev1.Namespace
	if err := r.Client.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("getting namespace %s: %w", ns, err)
	}
	return ep.AllowsNamespace(ns, n.Labels), nil
}
