package tenantapp

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// Retry delays after a failed database call: the first retry after
// backoffBase, doubling up to backoffCap, with jitter so that many TenantApps
// on one dead server do not retry in step.
const (
	backoffBase = time.Second
	backoffCap  = 30 * time.Second
)

// appState is what this process knows about one TenantApp's database between
// reconciles. Only the TenantApp's own reconcile (the workqueue never runs two
// at once) changes it; other TenantApps' reconciles read view and writing
// through applied, under mu.
type appState struct {
	// client is cached per TenantApp and connection: clientKey hashes the
	// DSN and schema, so a changed Secret or schema opens a new client. Set
	// under mu; read without it by the TenantApp's own pass only.
	client    tenantdb.Client
	clientKey string
	// secretVersion is the resourceVersion of the Secret dsn was read from.
	secretVersion string
	dsn           string
	// schemaVersion is what Migrate returned for client; 0: not migrated.
	schemaVersion int
	// pins are the scope groups the last pass resolved, for a pass whose
	// cached TenantApp does not show them in status yet.
	pins []scimv1.PinnedGroup

	mu sync.Mutex
	// view is what the last successful pass left in the tables; nil means
	// unknown (never synced, or a write failed), so the next pass is full.
	view *rows
	// writing holds the users whose rows a pass is writing right now, so a
	// user being deleted is not released while its row may still appear.
	writing map[string]struct{}

	lastFullSync     time.Time
	syncedGeneration int64
	needFullSync     bool

	// failures counts consecutive failed passes; retryAt ends the backoff
	// of the last one, which saw failedGeneration of the TenantApp.
	failures         int
	retryAt          time.Time
	failedGeneration int64
}

// setView records the tables' content after a pass; nil forgets it.
func (s *appState) setView(v *rows) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.view = v
}

// currentView returns the last recorded content, nil when unknown.
func (s *appState) currentView() *rows {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view
}

// beginWriting marks users as possibly gaining a row; endWriting clears it.
func (s *appState) beginWriting(users []tenantdb.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writing = make(map[string]struct{}, len(users))
	for _, u := range users {
		s.writing[u.ID] = struct{}{}
	}
}

func (s *appState) endWriting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writing = nil
}

// applied reports whether this TenantApp's database is known to hold no row
// for user id: the last pass succeeded without it and no pass is writing it.
func (s *appState) applied(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.view == nil {
		return false
	}
	_, inView := s.view.users[id]
	_, inFlight := s.writing[id]
	return !inView && !inFlight
}

// failed forgets the tables' content (the next pass is full), makes the next
// pass migrate again (the database may have been restored from scratch) and
// returns the backoff before retrying.
func (s *appState) failed(now time.Time, generation int64) time.Duration {
	s.setView(nil)
	s.failedGeneration = generation
	s.schemaVersion = 0
	s.failures++
	d := backoffBase << min(s.failures-1, 10)
	d = min(d, backoffCap)
	d = d/2 + rand.N(d/2+1)
	s.retryAt = now.Add(d)
	return d
}

// succeeded resets the backoff.
func (s *appState) succeeded() { s.failures, s.retryAt = 0, time.Time{} }

// setClient caches c for the connection identified by key; the next pass
// migrates and syncs in full.
func (s *appState) setClient(c tenantdb.Client, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client, s.clientKey, s.schemaVersion, s.view = c, key, 0, nil
}

// closeClient releases the cached client, if any; only the TenantApp's own
// reconcile calls it.
func (s *appState) closeClient() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		s.client.Close()
	}
	s.client, s.clientKey, s.schemaVersion, s.view = nil, "", 0, nil
}

// connectionKey identifies a database connection without keeping the DSN
// (which holds a password) in a comparable string.
func connectionKey(dsn, schema string) string {
	h := sha256.Sum256([]byte(dsn + "\x00" + schema))
	return hex.EncodeToString(h[:])
}

// appStates holds the appState of every TenantApp this process reconciles.
type appStates struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*appState
}

// get returns key's state, creating it.
func (a *appStates) get(key types.NamespacedName) *appState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[types.NamespacedName]*appState{}
	}
	s, ok := a.m[key]
	if !ok {
		s = &appState{}
		a.m[key] = s
	}
	return s
}

// peek returns key's state or nil.
func (a *appStates) peek(key types.NamespacedName) *appState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[key]
}

// drop closes key's client and forgets its state.
func (a *appStates) drop(key types.NamespacedName) {
	a.mu.Lock()
	s := a.m[key]
	delete(a.m, key)
	a.mu.Unlock()
	if s != nil {
		s.closeClient()
	}
}

// closeAll closes every cached client; the manager calls it on shutdown.
func (a *appStates) closeAll() {
	a.mu.Lock()
	states := a.m
	a.m = nil
	a.mu.Unlock()
	for _, s := range states {
		s.mu.Lock()
		c := s.client
		s.mu.Unlock()
		if c != nil {
			c.Close() // fields untouched: a pass may still be finishing
		}
	}
}
