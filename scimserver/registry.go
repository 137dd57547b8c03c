package scimserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"regexp"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scim-operator/scim-operator/scimserver/schema"

	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Endpoint is the serving configuration of one ScimEndpoint, as the registry
// reconciler last loaded it.
type Endpoint struct {
	Key    types.NamespacedName
	Tokens []scimstore.Token
	// Strict is compatibility mode Strict: it also narrows the accepted
	// media types (readBody), a transport rule rather than an IdP quirk.
	Strict bool
	// Quirks are the identity-provider deviations the endpoint accepts:
	// schema.Lenient() or schema.Strict() by its compatibility mode.
	Quirks      schema.Quirks
	MaxPageSize int
	// UserNames, when set, is the endpoint's spec.userNamePattern, anchored:
	// a userName it does not match is refused.
	UserNames *regexp.Regexp
	// MaxUsers and MaxGroups are the endpoint's spec.quota (0: no bound).
	MaxUsers, MaxGroups int
	limiter             *rate.Limiter
}

// maxTokens is the most tokens an endpoint references (the CRD's MaxItems).
const maxTokens = 8

// noToken fills the comparisons of unused token slots; no presented token
// hashes to it in practice, and a match would need its slot to be in use.
var noToken = sha256.Sum256([]byte("scim-operator: no token in this slot"))

// authenticate returns the id of the token matching presented, comparing the
// SHA-256 of both sides in constant time so neither content nor length leaks.
// It always makes maxTokens comparisons, whatever the endpoint has — none on
// a nil endpoint (an unknown path) — so response time tells neither how many
// tokens an endpoint has nor whether it exists.
func (e *Endpoint) authenticate(presented string) (string, bool) {
	h := sha256.Sum256([]byte(presented))
	var tokens []scimstore.Token
	if e != nil {
		tokens = e.Tokens
	}
	id, found := "", false
	for i := 0; i < maxTokens; i++ {
		want, inUse := noToken, i < len(tokens)
		if inUse {
			want = tokens[i].Hash
		}
		if subtle.ConstantTimeCompare(h[:], want[:]) == 1 && inUse && !found {
			id, found = tokens[i].ID, true
		}
	}
	return id, found
}

// allow takes one request from the endpoint's token bucket, returning how long
// the client should wait when the bucket is empty.
func (e *Endpoint) allow(now time.Time) (time.Duration, bool) {
	r := e.limiter.ReserveN(now, 1)
	if !r.OK() {
		return time.Second, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// Registry holds the serving configuration of every ScimEndpoint. The SCIM
// handlers read it on each request; the registry reconciler, which runs on
// every replica, writes it whenever an endpoint or one of its Secrets changes,
// so token rotation needs no restart.
type Registry struct {
	mu        sync.RWMutex
	endpoints map[types.NamespacedName]*Endpoint
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{endpoints: map[types.NamespacedName]*Endpoint{}}
}

// Get returns the endpoint's configuration, or nil when it is not served.
func (r *Registry) Get(key types.NamespacedName) *Endpoint {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.endpoints[key]
}

// Set installs or replaces an endpoint's configuration. The rate limiter keeps
// its state when the limits did not change, so a Secret rotation does not
// refill the bucket.
func (r *Registry) Set(e *Endpoint, rps float64, burst int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.endpoints[e.Key]; old != nil && old.limiter.Limit() == rate.Limit(rps) && old.limiter.Burst() == burst {
		e.limiter = old.limiter
	} else {
		e.limiter = rate.NewLimiter(rate.Limit(rps), burst)
	}
	r.endpoints[e.Key] = e
}

// Delete stops serving an endpoint.
func (r *Registry) Delete(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.endpoints, key)
}
