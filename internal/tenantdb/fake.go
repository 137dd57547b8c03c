package tenantdb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
)

// Op names a Client method, for injecting errors into a Fake.
type Op string

// The operations of Client.
const (
	OpMigrate      Op = "Migrate"
	OpApplyUsers   Op = "ApplyUsers"
	OpDeleteUsers  Op = "DeleteUsers"
	OpApplyGroups  Op = "ApplyGroups"
	OpDeleteGroups Op = "DeleteGroups"
	OpSetMembers   Op = "SetMembers"
	OpObserve      Op = "Observe"
	OpFullSync     Op = "FullSync"
	OpPing         Op = "Ping"
)

// ErrNotMigrated is returned by a Fake used before Migrate, where a real
// database would fail on missing tables: reconcilers must migrate first.
var ErrNotMigrated = errors.New("tenant database schema not migrated")

// errClosed is returned by a Fake after Close, as a closed pool would.
var errClosed = errors.New("tenant database client closed")

// Fake is an in-memory Client for unit tests of single reconciler functions.
// It follows the rules of Postgres (version guard, cascading deletes,
// skipped memberships, result counts); the same conformance tests run against
// both. Errors can be injected per operation.
type Fake struct {
	mu       sync.Mutex
	version  int
	closed   bool
	users    map[string]User
	groups   map[string]Group
	members  map[string]map[string]bool
	failures map[Op]error
	// deletedUsers and deletedGroups are the tombstones: id → version.
	deletedUsers  map[string]int64
	deletedGroups map[string]int64
}

var _ Client = (*Fake)(nil)

// NewFake returns an empty, unmigrated Fake.
func NewFake() *Fake {
	return &Fake{
		users:    map[string]User{},
		groups:   map[string]Group{},
		members:  map[string]map[string]bool{},
		failures: map[Op]error{},

		deletedUsers:  map[string]int64{},
		deletedGroups: map[string]int64{},
	}
}

// FailWith makes every later call of op return err (a database that is down,
// say); a nil err makes op succeed again.
func (f *Fake) FailWith(op Op, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failures, op)
		return
	}
	f.failures[op] = err
}

// check returns the error op must fail with, if any; f.mu must be held.
func (f *Fake) check(op Op, needsSchema bool) error {
	switch {
	case f.closed:
		return errClosed
	case f.failures[op] != nil:
		return f.failures[op]
	case needsSchema && f.version == 0:
		return ErrNotMigrated
	}
	return nil
}

// Migrate records the latest embedded schema version.
func (f *Fake) Migrate(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpMigrate, false); err != nil {
		return 0, err
	}
	migrations, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0, err
	}
	f.version = migrations[len(migrations)-1].version
	return f.version, nil
}

// Ping fails only when told to, or after Close.
func (f *Fake) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.check(OpPing, false)
}

// Close makes every later call fail.
func (f *Fake) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

// Observe returns a copy of the content, sorted like Postgres.Observe.
func (f *Fake) Observe(context.Context) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpObserve, true); err != nil {
		return State{}, err
	}
	return f.snapshot(), nil
}

// snapshot copies the content into a sorted State.
func (f *Fake) snapshot() State {
	st := State{Members: map[string][]string{}}
	for _, u := range f.users {
		st.Users = append(st.Users, u)
	}
	for _, g := range f.groups {
		st.Groups = append(st.Groups, g)
	}
	slices.SortFunc(st.Users, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Groups, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	for g, us := range f.members {
		for u := range us {
			st.Members[g] = append(st.Members[g], u)
		}
		slices.Sort(st.Members[g])
	}
	return st
}
