package tenantdb_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// outage is how long PostgreSQL stays down in TestDatabaseOutage.
const outage = 60 * time.Second

// TestDatabaseOutage stops the tenant's PostgreSQL for 60 s while users are
// provisioned, changed, deactivated and deleted through SCIM. Afterwards the
// tables equal the CRs, no ScimUser is stuck in deletion, and
// DatabaseReachable went True, False, True.
func TestDatabaseOutage(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ns := testharness.Namespace(t)
	ep := op.NewEndpoint(t, ns, "okta")

	// A server of its own, stopped and restarted on the same data and port.
	dir := dataDir(t)
	srv := startServer(t, localpg.Options{Dir: dir})
	if err := srv.CreateDatabase(context.Background(), "tenant"); err != nil {
		t.Fatal(err)
	}
	tn := newTenant(t, op.Client, ns, "app", "okta", srv.DSN("tenant"))
	transitions := recordReachable(t, tn.Key)

	var before []string
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		before = append(before, createUser(t, ep, name+"@example.com"))
	}
	gid := createGroup(t, ep, "Team", before[0], before[1])
	tn.waitEqual(t, "okta", 30*time.Second)

	down := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stopping PostgreSQL: %v", err)
	}
	var during []string
	for _, name := range []string{"g", "h", "i"} {
		during = append(during, createUser(t, ep, name+"@example.com"))
	}
	setActive(t, ep, before[0], false)
	setActive(t, ep, during[0], false)
	putUser(t, ep, before[2], userBody("c.renamed@example.com", "Cee", "Renamed", true))
	addMembers(t, ep, gid, during[1])
	removeMember(t, ep, gid, before[1])
	deleteResource(t, ep, "/Users/"+before[4])
	deleteResource(t, ep, "/Users/"+during[2])
	testharness.Eventually(t, time.Minute, func() string {
		if c := tn.condition(t, scimv1.ConditionDatabaseReachable); c == nil || c.Status != metav1.ConditionFalse {
			return "DatabaseReachable did not turn False"
		}
		return ""
	})
	// A deleted user waits for the database in Terminating: one with a row,
	// and also one created during the outage. The SCIM server created it
	// held, and after a failed pass the operator no longer knows what the
	// tables hold (they may have been restored), so it releases the user
	// only once the database answers.
	want := []string{before[4], during[2]}
	slices.Sort(want)
	held := terminating(t, op.Client, ns)
	slices.Sort(held)
	if !slices.Equal(held, want) {
		t.Errorf("users held while the database is down = %v, want %v", held, want)
	}

	time.Sleep(time.Until(down.Add(outage)))
	startServer(t, localpg.Options{Dir: dir, Port: srv.Port()})

	tn.waitEqual(t, "okta", 2*time.Minute)
	testharness.Eventually(t, time.Minute, func() string {
		if s := terminating(t, op.Client, ns); len(s) > 0 {
			return "users stuck in deletion after the outage: " + s[0]
		}
		if c := tn.condition(t, scimv1.ConditionDatabaseReachable); c == nil || c.Status != metav1.ConditionTrue {
			return "DatabaseReachable did not return to True"
		}
		return ""
	})
	tn.waitEqual(t, "okta", 30*time.Second)
	if got, want := transitions(), []metav1.ConditionStatus{"True", "False", "True"}; !slices.Equal(got, want) {
		t.Errorf("DatabaseReachable went %v, want %v", got, want)
	}
	testharness.Eventually(t, 30*time.Second, func() string {
		var events eventsv1.EventList
		if err := op.Client.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		for _, e := range events.Items {
			if e.Regarding.Name == tn.Key.Name && e.Reason == tenantapp.ReasonDatabaseUnreachable && e.Type == "Warning" {
				return ""
			}
		}
		return "no DatabaseUnreachable Event"
	})
}

// recordReachable watches a TenantApp and returns a function that reports
// the successive statuses of its DatabaseReachable condition.
func recordReachable(t *testing.T, key types.NamespacedName) func() []metav1.ConditionStatus {
	t.Helper()
	wc, err := client.NewWithWatch(cp.Config, client.Options{Scheme: controlplane.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &scimv1.TenantAppList{}, client.InNamespace(key.Namespace))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []metav1.ConditionStatus
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			app, ok := ev.Object.(*scimv1.TenantApp)
			if !ok || ev.Type == watch.Deleted || app.Name != key.Name {
				continue
			}
			c := meta.FindStatusCondition(app.Status.Conditions, scimv1.ConditionDatabaseReachable)
			mu.Lock()
			if c != nil && (len(seen) == 0 || seen[len(seen)-1] != c.Status) {
				seen = append(seen, c.Status)
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	return func() []metav1.ConditionStatus {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// dataDir returns a not yet existing directory that an unprivileged
// PostgreSQL user can reach (t.TempDir's parent is 0700, which does not do
// when tests run as root).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tenantapp-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return filepath.Join(dir, "data")
}

// startServer starts a PostgreSQL server stopped when the test ends.
func startServer(t *testing.T, opts localpg.Options) *localpg.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}
