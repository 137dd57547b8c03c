// Package scimserver is the embedded SCIM 2.0 service provider (RFC 7643/7644).
// One HTTP server serves every ScimEndpoint at /scim/v2/<namespace>/<name>, on
// every replica, reading from the manager's informer cache and writing
// ScimUser, ScimGroup, ScimMembership and ScimClaim objects.
//
// Each request follows the same order: admit (the server-wide in-flight cap)
// → authenticate → rate-limit → size-limit the body → parse → map to the
// custom resource → API call → render.
package scimserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Options configures the SCIM server.
type Options struct {
	// Addr is the listen address, e.g. ":8443" or "127.0.0.1:0".
	Addr string
	// ExternalURL, when set, is the scheme://host[:port] prefix of resource
	// locations (meta.location); otherwise the request's Host is used.
	ExternalURL string
	// MaxBodyBytes caps request bodies (413 above it). Default 1 MiB.
	MaxBodyBytes int64
	// MaxFilterLength caps filter expressions. Default 4096.
	MaxFilterLength int
	// MaxMembersPerRequest caps the member ids one POST, PUT or PATCH of a
	// group may name (400 tooMany above). Default scimstore.DefaultMaxMembersPerRequest.
	MaxMembersPerRequest int
	// IDKey keys the hash new users' and groups' ids are derived under
	// (scimstore.Options.IDKey); nil: unkeyed ids.
	IDKey []byte
	// TombstoneTTL is how long a deleted resource's id stays retired
	// (scimstore.Options.TombstoneTTL): 0 the default, negative forever.
	TombstoneTTL time.Duration
	// LegacyMembershipLayout, when set and answering true, keeps member
	// writes to the layout replicas of the version before the shard tree
	// remove from (scimstore.Options.LegacyLayout); the operator answers
	// from the SCIM Deployment's pods (internal/operator/peers.go).
	LegacyMembershipLayout func() bool
	// RequestTimeout bounds the work of one request. Default 30 s (Okta gives up at 60 s).
	RequestTimeout time.Duration
	// MaxInFlight caps the SCIM requests the process serves at once, across
	// every endpoint; beyond it a request is answered 503 with Retry-After
	// before any authentication work, so a flood (of valid or invalid
	// tokens) cannot exhaust memory or CPU. Default 256; negative: no cap.
	MaxInFlight int
	// MaxInFlightPerEndpoint caps the requests one endpoint has in flight
	// (429 with Retry-After beyond it), so one token holder — slow bodies
	// included — cannot take every slot of MaxInFlight. Default half
	// of MaxInFlight, at least 1; negative: no per-endpoint cap.
	MaxInFlightPerEndpoint int
	// MaxEndpointRPS and MaxEndpointBurst clamp every ScimEndpoint's
	// spec.rateLimit: whoever may write an endpoint cannot give its IdP (or
	// a leaked token) more of the process than the operator allows.
	// 0: no clamp.
	MaxEndpointRPS, MaxEndpointBurst int
	// Listener, when set, is used instead of listening on Addr (tests).
	Listener net.Listener
	// GetCertificate, when set, makes the server speak HTTPS (TLS 1.2 or
	// later) with the certificate it returns for each handshake; the operator
	// passes a certwatcher's, which rereads a rotated Secret volume
	// (docs/network.md#in-pod-tls). nil: plain HTTP.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Preload runs once after the cache synced and before listening; the
	// operator passes the registry's LoadAll so tokens are known from the start.
	Preload func(context.Context) error
	// UserFinalizers, when set, names the finalizers a new ScimUser of an
	// endpoint is created with: those of the projections that will hold it
	// (the operator passes the tenant databases', when the endpoint has a
	// TenantApp). A projection then need not patch every new user before
	// projecting it, and a user costs one API write instead of two.
	UserFinalizers func(ctx context.Context, namespace, endpoint string) ([]string, error)
	// Audit is the audit stream's logger. It is separate from the debug
	// log so that its level cannot silence it; main.go gives it a logger of
	// its own. Zero: the server's logger named "audit".
	Audit logr.Logger
	// TrustedProxies are the proxies (an Ingress controller, a load
	// balancer) whose X-Forwarded-For the audit stream believes.
	TrustedProxies []netip.Prefix
}

func (o *Options) defaults() {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxFilterLength == 0 {
		o.MaxFilterLength = 4096
	}
	if o.MaxMembersPerRequest == 0 {
		o.MaxMembersPerRequest = scimstore.DefaultMaxMembersPerRequest
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxInFlightPerEndpoint == 0 && o.MaxInFlight > 0 {
		o.MaxInFlightPerEndpoint = max(1, o.MaxInFlight/2)
	}
}

// DefaultMaxInFlight is the default of Options.MaxInFlight.
const DefaultMaxInFlight = 256

// The markers of this package generate config/rbac/scim/role.yaml, the role
// of the SCIM server's ServiceAccount (`make manifests`): it writes the SCIM
// kinds (through internal/scimstore) and nothing else. It reads TenantApps for the index that gives new
// users their finalizers (Options.UserFinalizers), and ScimEntitlements, the
// catalog it publishes at /Roles and checks granted roles against.
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimusers;scimgroups;scimmemberships;scimclaims,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=tenantapps;scimentitlements,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// The operator's watch of the SCIM Deployment's own pods and ReplicaSets
// (Options.LegacyMembershipLayout): namespaced markers, so that
// config/rbac grants it in scim-system only, and the chart in the
// release's namespace only (hack/sync-chart.sh); an informer needs no get.
// +kubebuilder:rbac:groups="",namespace=scim-system,resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=apps,namespace=scim-system,resources=replicasets,verbs=list;watch

// Server is the SCIM HTTP server. It is a manager Runnable that runs on every
// replica and starts listening only after the informer cache has synced, so it
// never answers from an empty cache.
type Server struct {
	opts     Options
	store    *scimstore.Store
	registry *Registry
	cache    cache.Cache
	log      logr.Logger
	audit    logr.Logger
	// authFailures bounds the audit lines of failed authentications.
	authFailures *limitedLog
	metrics      *metrics
	inFlight     chan struct{} // a slot per request being served; nil: no cap
	endpointBusy *endpointSlots
	quotas       quotaLocks
	ready        chan struct{}
	addr         chan string
}

// New returns a server reading through c (the manager's cached client), writing
// through it, and reading live objects through apiReader where the cache may lag.
func New(opts Options, c client.Client, apiReader client.Reader, ca cache.Cache, reg *Registry, log logr.Logger) *Server {
	opts.defaults()
	audit := opts.Audit
	if audit.GetSink() == nil {
		audit = log.WithName("audit")
	}
	var inFlight chan struct{}
	if opts.MaxInFlight > 0 {
		inFlight = make(chan struct{}, opts.MaxInFlight)
	}
	return &Server{
		inFlight:     inFlight,
		endpointBusy: newEndpointSlots(opts.MaxInFlightPerEndpoint),
		opts:         opts,
		store: scimstore.New(c, apiReader, ca, scimstore.Options{UserFinalizers: opts.UserFinalizers,
			MaxMembersPerRequest: opts.MaxMembersPerRequest, IDKey: opts.IDKey, TombstoneTTL: opts.TombstoneTTL,
			LegacyLayout: opts.LegacyMembershipLayout}),
		registry:     reg,
		cache:        ca,
		log:          log.WithName("scim"),
		audit:        audit.WithValues("stream", "audit"),
		authFailures: newLimitedLog(10, 50),
		metrics:      newMetrics(defaultRegistry()),
		ready:        make(chan struct{}),
		addr:         make(chan string, 1),
	}
}

// NeedLeaderElection is false: every replica serves SCIM.
func (s *Server) NeedLeaderElection() bool { return false }

// Addr blocks until the server listens and returns its address.
func (s *Server) Addr(ctx context.Context) (string, error) {
	select {
	case a := <-s.addr:
		s.addr <- a
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ReadyCheck is a healthz.Checker that passes once the server is serving.
func (s *Server) ReadyCheck(_ *http.Request) error {
	select {
	case <-s.ready:
		return nil
	default:
		return errors.New("SCIM server not serving yet (waiting for the cache to sync)")
	}
}

// Start waits for the cache, listens and serves until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	if !s.cache.WaitForCacheSync(ctx) {
		return errors.New("SCIM server: cache did not sync")
	}
	if err := s.store.Follow(ctx); err != nil {
		return fmt.Errorf("SCIM server: following the ScimUser and ScimGroup informers: %w", err)
	}
	if s.opts.Preload != nil {
		if err := s.opts.Preload(ctx); err != nil {
			return fmt.Errorf("SCIM server: loading endpoints: %w", err)
		}
	}
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("SCIM server: listening on %s: %w", s.opts.Addr, err)
		}
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          stdlog.New(httpErrorLog{s.log}, "", 0),
	}
	// HTTP/1.1 only, over TLS as over plain HTTP: refuse() and the in-flight
	// caps are written for one request at a time per connection.
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	serve := func() error { return srv.Serve(ln) }
	if s.opts.GetCertificate != nil {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.opts.GetCertificate}
		serve = func() error { return srv.ServeTLS(ln, "", "") }
	}
	s.addr <- ln.Addr().String()
	close(s.ready)
	s.log.Info("serving SCIM", "address", ln.Addr().String(), "tls", s.opts.GetCertificate != nil)
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// httpErrorLog carries net/http's own messages (accept errors, handler
// panics) to the server's log. Failed TLS handshakes — scanners, and load
// balancers' TCP health checks every few seconds — go to the debug level.
type httpErrorLog struct{ log logr.Logger }

func (w httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	l := w.log
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		l = l.V(1)
	}
	l.Info("net/http", "message", msg)
	return len(p), nil
}

// minIDKey is the shortest installation key accepted for derived ids.
const minIDKey = 32

// ReadIDKey reads the installation's id key from a file (a mounted Secret),
// trimmed of surrounding whitespace; it must hold at least 32 bytes.
func ReadIDKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key := bytes.TrimSpace(data)
	if len(key) < minIDKey {
		return nil, fmt.Errorf("the key in %s has %d bytes, want at least %d (e.g. openssl rand -hex 32)", path, len(key), minIDKey)
	}
	return key, nil
}
