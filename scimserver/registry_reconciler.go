package scimserver

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

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
)

// IndexTokenSecret indexes ScimEndpoints by the names of the Secrets they reference.
const IndexTokenSecret = "spec.tokenSecretRefs.name"

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

	clamped *prometheus.GaugeVec // set by SetupWithManager
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
	tokens, _, err := LoadTokens(ctx, r.APIReader, &ep)
	if err != nil {
		return ctrl.Result{}, err
	}
	rps, burst := r.limit(ctx, &ep)
	maxPage := int(ep.Spec.MaxPageSize)
	if maxPage <= 0 {
		maxPage = 1000
	}
	userNames, err := CompileUserNamePattern(ep.Spec.UserNamePattern)
	if err != nil {
		// Fail closed: no userName matches an invalid pattern. The
		// endpoint's Ready condition says why.
		userNames = matchNothing
	}
	r.Registry.Set(&Endpoint{
		Key:         req.NamespacedName,
		Tokens:      tokens,
		Strict:      ep.Spec.Compatibility == scimv1.CompatibilityStrict,
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
	}
}

// matchNothing stands for a userNamePattern that does not compile.
var matchNothing = regexp.MustCompile(`[^\s\S]`)

// TokenProblem says why a referenced Secret key gives no token. The message
// is the same for a Secret that does not exist, a missing key and a Secret
// without the opt-in label, so an endpoint's status tells nothing about
// Secrets that are not token Secrets.
type TokenProblem struct {
	// Ref is "<secret>/<key>".
	Ref string
	// Reason is one of the TokenProblem* constants.
	Reason string
}

// Reasons a referenced Secret key gives no token.
const (
	TokenNotOptedIn  = "NotFoundOrNotLabelled"
	TokenWhitespace  = "ContainsWhitespace"
	TokenTooWeak     = "TooWeak"
	minTokenBits     = 128
	minDistinctChars = 10
)

// LoadTokens reads the bearer tokens an endpoint references and returns their
// hashes, and the problems of the references that give none. Only Secrets
// labelled scim.scim-operator.io/token=true are read, so an endpoint cannot
// turn an arbitrary Secret into a credential. A value is trimmed of
// surrounding whitespace (a trailing newline from `echo` or a file); a token
// with whitespace inside, or under 128 bits of estimated entropy, is refused.
func LoadTokens(ctx context.Context, reader client.Reader, ep *scimv1.ScimEndpoint) ([]Token, []TokenProblem, error) {
	var tokens []Token
	var problems []TokenProblem
	for _, ref := range ep.Spec.TokenSecretRefs {
		id := ref.Name + "/" + ref.Key
		var s corev1.Secret
		err := reader.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: ref.Name}, &s)
		// Forbidden: the namespace is not one of the operator's Secret
		// namespaces. Like a missing Secret, that gives no token (and
		// drops a token loaded before), in the same words.
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return nil, nil, fmt.Errorf("getting token Secret %s/%s: %w", ep.Namespace, ref.Name, err)
		}
		value, ok := s.Data[ref.Key]
		if err != nil || !ok || s.Labels[scimv1.LabelTokenSecret] != "true" {
			problems = append(problems, TokenProblem{Ref: id, Reason: TokenNotOptedIn})
			continue
		}
		token := strings.TrimSpace(string(value))
		if reason := checkToken(token); reason != "" {
			problems = append(problems, TokenProblem{Ref: id, Reason: reason})
			continue
		}
		tokens = append(tokens, Token{ID: id, Hash: sha256.Sum256([]byte(token))})
	}
	return tokens, problems, nil
}

// checkToken returns why a token is refused, or "".
func checkToken(token string) string {
	if strings.IndexFunc(token, unicode.IsSpace) >= 0 {
		return TokenWhitespace
	}
	if TokenBits(token) < minTokenBits {
		return TokenTooWeak
	}
	return ""
}

// TokenBits estimates a token's entropy in bits as a random string would
// have it, over its shortest period (a repeated phrase counts once): the
// lesser of its length times log2 of the alphabet its character classes
// span (hex digits, decimal digits, lower case, upper case, other) and its
// length times the entropy of its character frequencies. Fewer than 10
// distinct characters count as 0: that is not random. 64 random hex
// characters (openssl rand -hex 32) give about 240 bits; 32 give 110 to 128
// depending on the draw, so use 32 random bytes.
func TokenBits(token string) float64 {
	token = token[:period(token)]
	distinct := map[rune]bool{}
	var lower, upper, digit, other, hexOnly = false, false, false, false, true
	for _, r := range token {
		distinct[r] = true
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z':
			lower = true
			hexOnly = hexOnly && r <= 'f'
		case r >= 'A' && r <= 'Z':
			upper = true
			hexOnly = hexOnly && r <= 'F'
		default:
			other = true
		}
	}
	if len(distinct) < minDistinctChars {
		return 0
	}
	alphabet := 0
	switch {
	case !lower && !upper && !other:
		alphabet = 10
	case hexOnly && !other && !(lower && upper):
		alphabet = 16
	default:
		for _, c := range []struct {
			on bool
			n  int
		}{{digit, 10}, {lower, 26}, {upper, 26}, {other, 32}} {
			if c.on {
				alphabet += c.n
			}
		}
	}
	n := float64(utf8.RuneCountInString(token))
	return min(n*math.Log2(float64(alphabet)), n*shannon(token, len(distinct)))
}

// shannon is the entropy per character of s's character frequencies, with
// the Miller–Madow correction for a short sample: a string drawn from few
// characters, or dominated by some, scores low whatever its length.
func shannon(s string, distinct int) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h + float64(distinct-1)/(2*float64(n)*math.Ln2)
}

// SetupWithManager registers the reconciler; it watches ScimEndpoints and the
// metadata of the Secrets they reference.
func (r *RegistryReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.clamped = newClampMetric(defaultRegistry())
	if err := IndexEndpointsByTokenSecret(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("scim-registry").
		For(&scimv1.ScimEndpoint{}).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.endpointsForSecret)).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		Complete(r)
}

// IndexEndpointsByTokenSecret adds the IndexTokenSecret index. SetupWithManager
// adds it; a process that runs the reconcilers without the SCIM server (the
// controllers component) adds it alone, for the ScimEndpoint status controller.
func IndexEndpointsByTokenSecret(ctx context.Context, indexer client.FieldIndexer) error {
	err := indexer.IndexField(ctx, &scimv1.ScimEndpoint{}, IndexTokenSecret, func(o client.Object) []string {
		var names []string
		for _, ref := range o.(*scimv1.ScimEndpoint).Spec.TokenSecretRefs {
			names = append(names, ref.Name)
		}
		return names
	})
	if err != nil {
		return fmt.Errorf("indexing ScimEndpoints by Secret: %w", err)
	}
	return nil
}

func (r *RegistryReconciler) endpointsForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var eps scimv1.ScimEndpointList
	if err := r.Client.List(ctx, &eps, client.InNamespace(o.GetNamespace()),
		client.MatchingFields{IndexTokenSecret: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(eps.Items))
	for _, ep := range eps.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ep)})
	}
	return reqs
}

// period is the length of the shortest prefix p of s such that s repeats it
// (s[i] == s[i-p] for every i >= p): len(s) when s does not repeat itself.
func period(s string) int {
	if s == "" {
		return 0
	}
	fail := make([]int, len(s)) // KMP: longest proper prefix that is also a suffix
	for i, k := 1, 0; i < len(s); i++ {
		for k > 0 && s[i] != s[k] {
			k = fail[k-1]
		}
		if s[i] == s[k] {
			k++
		}
		fail[i] = k
	}
	return len(s) - fail[len(s)-1]
}
