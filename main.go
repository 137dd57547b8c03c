// Command scim-operator runs the scim-operator manager: the embedded SCIM 2.0
// server that identity providers provision, and the reconcilers that project
// ScimUsers and ScimGroups into RBAC and tenant databases.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver"
)

func main() {
	var opts operator.Options
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8080", `Address of the metrics endpoint; "0" disables it.`)
	flag.BoolVar(&opts.MetricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS to callers the API server authenticates and authorizes for GET /metrics; false serves plain HTTP to anyone.")
	flag.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	flag.BoolVar(&opts.LeaderElection, "leader-elect", true, "Elect a leader so only one replica reconciles; every replica serves SCIM. Ignored with --components=scim.")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	flag.DurationVar(&opts.LeaseDuration, "leader-elect-lease-duration", 0,
		"How long a leader election Lease is valid; a crashed leader is replaced after about this long (0: 15s).")
	flag.DurationVar(&opts.RenewDeadline, "leader-elect-renew-deadline", 0,
		"How long the leader retries renewing its Lease before it stops reconciling (0: 10s); less than the lease duration.")
	flag.DurationVar(&opts.RetryPeriod, "leader-elect-retry-period", 0,
		"How often candidates try to acquire, and the leader to renew, the Lease (0: 2s).")
	flag.StringVar(&opts.SCIM.Addr, "scim-bind-address", ":8443", "Address the SCIM server listens on.")
	flag.StringVar(&opts.SCIMTLS.CertFile, "scim-tls-cert-file", "",
		"PEM certificate (chain) the SCIM server serves HTTPS with, reread when it changes (a mounted kubernetes.io/tls Secret's tls.crt); empty: plain HTTP. Needs --scim-tls-key-file.")
	flag.StringVar(&opts.SCIMTLS.KeyFile, "scim-tls-key-file", "",
		"PEM private key of --scim-tls-cert-file (the Secret's tls.key).")
	flag.StringVar(&opts.SCIMPeers.Namespace, "scim-peer-namespace", "", "Namespace of the SCIM Deployment's pods (--scim-peer-selector).")
	flag.StringVar(&opts.SCIMPeers.Selector, "scim-peer-selector", "",
		"Label selector of the SCIM Deployment's pods: while one runs a version before the membership shard tree, members are written in the layout it reads (docs/upgrading.md). Empty: not watched.")
	flag.StringVar(&opts.SCIM.ExternalURL, "scim-external-url", "", "scheme://host[:port] the IdP reaches the SCIM server at; used in meta.location (default: the request's Host).")
	flag.Int64Var(&opts.SCIM.MaxBodyBytes, "scim-max-body-bytes", 1<<20, "Largest SCIM request body accepted (413 above).")
	flag.IntVar(&opts.SCIM.MaxMembersPerRequest, "scim-max-members-per-request", scimstore.DefaultMaxMembersPerRequest,
		"Most member ids one SCIM request may name in a group's members (400 tooMany above).")
	flag.IntVar(&opts.SCIM.MaxInFlight, "scim-max-in-flight", scimserver.DefaultMaxInFlight,
		"SCIM requests served at once by this replica, over all endpoints; beyond it requests get 503 with Retry-After (negative: no cap).")
	flag.IntVar(&opts.SCIM.MaxInFlightPerEndpoint, "scim-max-in-flight-per-endpoint", 0,
		"SCIM requests one endpoint may have in flight; beyond it requests get 429 with Retry-After (0: half of --scim-max-in-flight; negative: no cap).")
	flag.IntVar(&opts.SCIM.MaxEndpointRPS, "max-endpoint-rps", 200,
		"Highest requests per second any ScimEndpoint's spec.rateLimit may grant; larger values are clamped to it (0: no clamp).")
	flag.DurationVar(&opts.SCIM.TombstoneTTL, "tombstone-ttl", scimstore.DefaultTombstoneTTL,
		"How long a deleted SCIM user's or group's id stays retired before its tombstone is deleted; ids are never reused either way (docs/security.md). A negative value keeps tombstones forever.")
	flag.IntVar(&opts.SCIM.MaxEndpointBurst, "max-endpoint-burst", 400,
		"Highest burst any ScimEndpoint's spec.rateLimit may grant; larger values are clamped to it (0: no clamp).")
	flag.StringVar(&opts.TenantDBCAFile, "tenant-db-ca-file", "",
		"PEM CA bundle tenant database certificates must chain to, for TenantApps without spec.database.tls.caSecretRef (default: the DSN's sslrootcert, else the system roots).")
	allowed := flag.String("allowed-roles", rolebinding.DefaultAllowedRoles,
		"Comma-separated roles that ScimRoleBindings and ScimClusterRoleBindings may grant, as ClusterRole/<name> or Role/<name> (<name> may be *).")
	components := flag.String("components", string(operator.ComponentsAll),
		"What this process runs: scim (the SCIM server, every replica), controllers (the reconcilers, on the leader) or all.")
	secretNamespaces := flag.String("secret-namespaces", "",
		"Comma-separated namespaces whose Secrets (endpoint tokens, TenantApp connection strings) are watched; empty: every namespace.")
	trustedProxies := flag.String("trusted-proxies", "",
		"Comma-separated CIDRs of proxies (Ingress controller, load balancer) whose X-Forwarded-For the audit stream believes; empty: none.")
	idKeyFile := flag.String("id-key-file", "",
		"File holding the installation's key (at least 32 bytes) that new SCIM ids are a keyed hash under, so an id reveals nothing about the person; empty: unkeyed ids.")
	memRatio := flag.Float64("memory-limit-ratio", 0.9,
		"Set the Go runtime's soft memory limit to this share of the container's memory limit (0: off; GOMEMLIMIT wins).")
	zapOpts := zap.Options{Development: false, TimeEncoder: zapcore.ISO8601TimeEncoder}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	opts.Logger = zap.New(zap.UseFlagOptions(&zapOpts))
	ctrl.SetLogger(opts.Logger)
	// The audit stream has a logger of its own, at info level whatever
	// --zap-log-level says, so that turning debug logs down never silences it.
	opts.SCIM.Audit = zap.New(zap.Level(zapcore.InfoLevel), zap.WriteTo(os.Stdout),
		func(o *zap.Options) { o.TimeEncoder = zapcore.ISO8601TimeEncoder }).WithName("audit")
	log := opts.Logger.WithName("setup")

	if soft, err := operator.SetMemoryLimit(*memRatio); err != nil {
		log.Error(err, "reading the container's memory limit; no soft memory limit set")
	} else if soft > 0 {
		log.Info("soft memory limit set", "bytes", soft, "ratio", *memRatio)
	}
	var err error
	if opts.AllowedRoles, err = rolebinding.ParseAllowList(*allowed); err != nil {
		fmt.Fprintln(os.Stderr, "scim-operator: --allowed-roles:", err)
		os.Exit(2)
	}
	if opts.Components, err = operator.ParseComponents(*components); err != nil {
		fmt.Fprintln(os.Stderr, "scim-operator: --components:", err)
		os.Exit(2)
	}
	if err := opts.SCIMTLS.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "scim-operator:", err)
		os.Exit(2)
	}
	// Replicas' clocks must agree to a quarter of the TTL (docs/security.md).
	if ttl := opts.SCIM.TombstoneTTL; ttl > 0 && ttl < time.Hour {
		fmt.Fprintf(os.Stderr, "scim-operator: --tombstone-ttl=%v: want at least 1h (or a negative value for tombstones kept for ever)\n", ttl)
		os.Exit(2)
	}
	opts.SecretNamespaces = splitList(*secretNamespaces)
	for _, cidr := range splitList(*trustedProxies) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scim-operator: --trusted-proxies:", err)
			os.Exit(2)
		}
		opts.SCIM.TrustedProxies = append(opts.SCIM.TrustedProxies, p)
	}
	if *idKeyFile != "" {
		if opts.SCIM.IDKey, err = scimserver.ReadIDKey(*idKeyFile); err != nil {
			fmt.Fprintln(os.Stderr, "scim-operator: --id-key-file:", err)
			os.Exit(2)
		}
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scim-operator: no Kubernetes configuration found:", err)
		os.Exit(1)
	}
	op, err := operator.New(cfg, opts)
	if err != nil {
		log.Error(err, "setting up the operator")
		os.Exit(1)
	}
	log.Info("starting", "components", opts.Components, "secretNamespaces", opts.SecretNamespaces,
		"scimPathPrefix", scimserver.PathPrefix)
	if err := op.Manager.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
