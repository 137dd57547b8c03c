// Package operator wires the manager: scheme, cache indexes, the SCIM server
// (on every replica) and the reconcilers (on the leader). main.go, the local
// mode and the end-to-end tests all build the operator through New, so they
// run the same thing.
package operator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/scim-operator/scim-operator/controllers/endpoint"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/kube"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/telemetry"
	"github.com/scim-operator/scim-operator/scimserver"
)

// Options configures the operator.
type Options struct {
	// MetricsAddr serves Prometheus metrics; "0" disables it.
	MetricsAddr string
	// MetricsSecure serves metrics over HTTPS (a self-signed certificate) to
	// callers whose bearer token the API server authenticates (TokenReview)
	// and authorizes for GET /metrics (SubjectAccessReview); false serves
	// plain HTTP to anyone who reaches the port (tests, local mode).
	MetricsSecure bool
	// ProbeAddr serves /healthz and /readyz; "0" disables it.
	ProbeAddr string
	// LeaderElection enables leader election for the reconcilers.
	LeaderElection bool
	// LeaderElectionNamespace holds the Lease; required outside a cluster.
	LeaderElectionNamespace string
	// LeaderElectionID names the Lease.
	LeaderElectionID string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election; zero
	// keeps controller-runtime's defaults (15 s, 10 s, 2 s). A crashed leader
	// is replaced once its Lease expires, at the next (jittered) retry of a
	// candidate: about LeaseDuration plus one or two RetryPeriods.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// KeepLeaseOnStop leaves the Lease held when the manager stops, as a
	// crashed leader would, so tests can measure a crash failover. The default
	// releases it, so a clean stop hands over within one RetryPeriod.
	KeepLeaseOnStop bool
	// SCIM configures the SCIM server.
	SCIM scimserver.Options
	// SCIMPeers names the pods of the SCIM Deployment: while one of them
	// runs a version before the membership shard tree, member writes keep
	// the layout it removes from (peers.go). Zero: not watched.
	SCIMPeers Peers
	// SCIMTLS, when set, makes the SCIM server serve HTTPS with this key
	// pair, reread when the files change; New fails when it cannot be loaded.
	SCIMTLS TLSFiles
	// Logger is the root logger.
	Logger logr.Logger
	// AllowedRoles lists the roles bindings may grant; nil means
	// rolebinding.DefaultAllowedRoles.
	AllowedRoles rolebinding.AllowList
	// SkipControllerNameValidation lets one process run several operators
	// (the end-to-end tests run two replicas side by side, and one after
	// another); controller-runtime otherwise refuses a second controller of
	// the same name for the life of the process.
	SkipControllerNameValidation bool
	// Components selects the SCIM server, the reconcilers, or both (the
	// zero value).
	Components Components
	// SecretNamespaces limits the Secrets the operator watches and caches to
	// these namespaces (those holding ScimEndpoints and TenantApps), so that
	// namespaced Roles suffice; empty watches every namespace.
	SecretNamespaces []string
	// TenantDBCAFile is a PEM bundle the tenant database servers'
	// certificates must chain to, for TenantApps that name no CA Secret.
	TenantDBCAFile string
}

// Metrics served with --metrics-secure check the scraper's token and its right
// to GET /metrics with the API server; both components serve metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Leases are needed by the controllers component only (the SCIM server does
// not take part in leader election).
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
// Leader election records its transitions as core Events.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Operator is a configured manager plus handles the callers need.
type Operator struct {
	Manager manager.Manager
	SCIM    *scimserver.Server
}

// New builds the manager and registers everything on it. Start it with Manager.Start.
func New(cfg *rest.Config, opts Options) (*Operator, error) {
	if err := opts.SCIMTLS.Validate(); err != nil {
		return nil, err
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "scim-operator.scim.scim-operator.io"
	}
	if !opts.Components.Controllers() {
		// Leader election picks the replica that reconciles; without
		// reconcilers every replica is alike.
		opts.LeaderElection = false
	}
	cfg = rest.CopyConfig(cfg)
	kube.Tune(cfg)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        kube.Scheme(),
		Logger:                        opts.Logger,
		Metrics:                       metricsOptions(opts),
		HealthProbeBindAddress:        opts.ProbeAddr,
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: !opts.KeepLeaseOnStop,
		LeaseDuration:                 durationOrNil(opts.LeaseDuration),
		RenewDeadline:                 durationOrNil(opts.RenewDeadline),
		RetryPeriod:                   durationOrNil(opts.RetryPeriod),
		GracefulShutdownTimeout:       ptrDuration(15 * time.Second),
		Controller:                    config.Controller{SkipNameValidation: &opts.SkipControllerNameValidation},
		// Managed fields are a third of a cached ScimUser and nothing reads
		// them (an update that omits them keeps them): they are dropped.
		// Informers LIST rather than stream their first sync (informers.go).
		// Under a memory limit, their first LIST comes in pages.
		Cache: cache.Options{ByObject: cacheByObject(opts.SecretNamespaces), DefaultTransform: cache.TransformStripManagedFields(),
			NewInformer: newListingInformer(firstListPages())},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	// The TenantApp controller is set up first: it registers the index of
	// TenantApps by endpoint that gives new users their finalizers.
	tenants, err := addControllers(mgr, &opts)
	if err != nil {
		return nil, err
	}
	op := &Operator{Manager: mgr}
	if opts.Components.SCIM() {
		if op.SCIM, err = addSCIMServer(mgr, opts, tenants); err != nil {
			return nil, err
		}
	}
	release := &startupRelease{cache: mgr.GetCache(), log: opts.Logger.WithName("memory"), every: releaseEvery}
	if op.SCIM != nil {
		release.ready = op.SCIM.ReadyCheck
	}
	if err := mgr.Add(release); err != nil {
		return nil, fmt.Errorf("adding the start-up memory release: %w", err)
	}
	if opts.ProbeAddr != "0" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return nil, err
		}
		name, ready := "informers", cacheSynced(mgr.GetCache())
		if op.SCIM != nil {
			name, ready = "scim", op.SCIM.ReadyCheck
		}
		if err := mgr.AddReadyzCheck(name, ready); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// addSCIMServer adds the token loader and the SCIM server, which run on every
// replica. tenants answers which finalizers a new user gets; without the
// reconcilers in this process, it reads the TenantApp index added here.
func addSCIMServer(mgr manager.Manager, opts Options, tenants *tenantapp.Reconciler) (*scimserver.Server, error) {
	registry := scimserver.NewRegistry()
	loader := &scimserver.RegistryReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Registry: registry,
		MaxRPS: opts.SCIM.MaxEndpointRPS, MaxBurst: opts.SCIM.MaxEndpointBurst}
	if err := loader.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the SCIM registry: %w", err)
	}
	if tenants == nil {
		if err := tenantapp.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
			return nil, err
		}
		tenants = &tenantapp.Reconciler{Client: mgr.GetClient(), Informers: mgr.GetCache()}
	}
	if opts.SCIMTLS.Enabled() {
		var err error
		if opts.SCIM.GetCertificate, err = addCertWatcher(mgr, opts.SCIMTLS, opts.Logger); err != nil {
			return nil, err
		}
	}
	if opts.SCIMPeers.Selector != "" {
		gate, err := newPeerGate(mgr.GetConfig(), opts.SCIMPeers, opts.Logger.WithName("peers"))
		if err != nil {
			return nil, err
		}
		if err := mgr.Add(gate); err != nil {
			return nil, fmt.Errorf("adding the SCIM peer watch: %w", err)
		}
		opts.SCIM.LegacyMembershipLayout = gate.Legacy
	}
	opts.SCIM.Preload = loader.LoadAll
	opts.SCIM.UserFinalizers = tenants.NewUserFinalizers
	server := scimserver.New(opts.SCIM, mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache(), registry, opts.Logger)
	if err := mgr.Add(server); err != nil {
		return nil, fmt.Errorf("adding the SCIM server: %w", err)
	}
	if err := addTombstoneSweeper(mgr, opts); err != nil {
		return nil, err
	}
	return server, nil
}

// addControllers adds the reconcilers, which run on the leader, and returns
// the TenantApp reconciler; it adds nothing and returns nil when the process
// runs the SCIM server only.
func addControllers(mgr manager.Manager, opts *Options) (*tenantapp.Reconciler, error) {
	if !opts.Components.Controllers() {
		return nil, nil
	}
	// One deprovisioning guard for every projection: they all ask it before
	// they revoke, and the ScimEndpoint controller applies approvals.
	guard := &deprovision.Guard{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("scim-operator"),
		Users:    deprovision.CachedUsers(mgr.GetClient()),
		Metrics:  deprovision.NewMetrics(metrics.Registry),
	}
	if err := (&endpoint.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(),
		Recorder: mgr.GetEventRecorder("scim-operator"), Guard: guard,
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the ScimEndpoint controller: %w", err)
	}
	tenants := &tenantapp.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(),
		Recorder:  mgr.GetEventRecorder("scim-operator"),
		NewClient: tenantapp.PostgresClientWithCAFile(opts.TenantDBCAFile), Metrics: tenantapp.NewMetrics(metrics.Registry),
		Guard: guard,
	}
	if err := tenants.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the TenantApp controller: %w", err)
	}
	if opts.AllowedRoles == nil {
		var err error
		if opts.AllowedRoles, err = rolebinding.ParseAllowList(rolebinding.DefaultAllowedRoles); err != nil {
			return nil, err
		}
	}
	if err := (&rolebinding.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("scim-operator"), AllowedRoles: opts.AllowedRoles,
		Lag: telemetry.NewProjectionLag(metrics.Registry), Guard: guard,
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the RBAC projection: %w", err)
	}
	return tenants, nil
}

// metricsOptions serves metrics as kubebuilder scaffolds it: with
// MetricsSecure, over HTTPS and only to callers the API server authenticates
// and authorizes (the chart's <release>-metrics-reader ClusterRole grants it).
func metricsOptions(opts Options) metricsserver.Options {
	m := metricsserver.Options{BindAddress: opts.MetricsAddr}
	if opts.MetricsSecure {
		m.SecureServing = true
		m.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return m
}

func ptrDuration(d time.Duration) *time.Duration { return &d }

// durationOrNil returns nil for zero, so the manager applies its default.
func durationOrNil(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// firstListPages is the page size of the informers' first LIST: pages
// (listPageSize) when a soft memory limit is set (SetMemoryLimit, or
// GOMEMLIMIT), else the whole list at once, which is faster (informers.go).
func firstListPages() int64 {
	if debug.SetMemoryLimit(-1) < math.MaxInt64 {
		return listPageSize
	}
	return 0
}

// cacheSynced is the readiness of a process without the SCIM server: its
// informers have synced. An informer whose list or watch the API server
// refuses (a ServiceAccount without the chart's RBAC) never syncs, so the
// controllers Deployment does not report ready while it cannot see.
func cacheSynced(c cache.Cache) healthz.Checker {
	return func(r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("the informer caches have not synced (is the ServiceAccount missing RBAC?)")
		}
		return nil
	}
}

// tombstonesExpired counts the tombstones of deleted ids the sweeper deleted.
var tombstonesExpired = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "scim_tombstones_expired_total",
	Help: "Tombstones of deleted SCIM ids deleted once their TTL passed (--tombstone-ttl).",
})

func init() { metrics.Registry.MustRegister(tombstonesExpired) }

// addTombstoneSweeper adds the sweep of expired tombstones, unless they are
// kept forever. It runs with the SCIM server, whose ServiceAccount alone may
// write identities: on the leader, or, where the SCIM server runs without
// leader election, on every replica (each delete is conditional on the
// tombstone being unchanged, so replicas sweeping at once do no harm).
func addTombstoneSweeper(mgr manager.Manager, opts Options) error {
	if opts.SCIM.TombstoneTTL < 0 {
		return nil
	}
	store := scimstore.New(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache(),
		scimstore.Options{IDKey: opts.SCIM.IDKey, TombstoneTTL: opts.SCIM.TombstoneTTL})
	sweeper := &scimstore.TombstoneSweeper{Store: store,
		Log: opts.Logger.WithName("tombstones"), Swept: func(n int) { tombstonesExpired.Add(float64(n)) }}
	if err := mgr.Add(sweeper); err != nil {
		return fmt.Errorf("adding the tombstone sweeper: %w", err)
	}
	return nil
}
