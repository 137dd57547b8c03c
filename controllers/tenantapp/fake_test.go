package tenantapp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// fakes is a ClientFactory handing out one tenantdb.Fake per DSN, counting
// how often each was opened.
type fakes struct {
	mu     sync.Mutex
	byDSN  map[string]*tenantdb.Fake
	opened map[string]int
}

func (f *fakes) open(_ context.Context, dsn, _ string, _ tenantdb.TLS) (tenantdb.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened[dsn]++
	db := tenantdb.NewFake()
	f.byDSN[dsn] = db
	return db, nil
}

func (f *fakes) get(dsn string) (*tenantdb.Fake, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byDSN[dsn], f.opened[dsn]
}

// startReconciler runs a manager with only the TenantApp reconciler, on the
// given client factory, until the test ends.
func startReconciler(t *testing.T, factory tenantapp.ClientFactory) {
	t.Helper()
	skip := true
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme: controlplane.Scheme(), Logger: zap.New(zap.WriteTo(io.Discard)),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: &skip},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	if err := (&tenantapp.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(),
		Recorder: mgr.GetEventRecorder("test"), NewClient: factory}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// newUser creates a ScimUser directly, as the SCIM server would.
func newUser(t testing.TB, c client.Client, ns, endpoint, userName string) *scimv1.ScimUser {
	t.Helper()
	u := &scimv1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "u-", Labels: map[string]string{scimv1.LabelEndpoint: endpoint}},
		Spec:       scimv1.ScimUserSpec{Endpoint: endpoint, UserName: userName, Active: true},
	}
	if err := c.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestClientFactoryAndFailureClassification injects fakes: a client is
// opened once per TenantApp and DSN (again when the Secret changes), a write
// the database refuses is SyncFailed with the database reachable, a failing
// ping makes it unreachable, and everything is applied once it recovers.
func TestClientFactoryAndFailureClassification(t *testing.T) {
	f := &fakes{byDSN: map[string]*tenantdb.Fake{}, opened: map[string]int{}}
	startReconciler(t, f.open)
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := testharness.Namespace(t)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	// The endpoint only has to exist: a TenantApp of a missing one writes nothing.
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta"},
		Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "okta-token", Key: "token"}}}}
	if err := c.Create(ctx, ep); err != nil {
		t.Fatal(err)
	}
	users := []*scimv1.ScimUser{newUser(t, c, ns, "okta", "a@example.com"), newUser(t, c, ns, "okta", "b@example.com")}
	tn := newTenant(t, c, ns, "app", "okta", "fake://one")
	rowsIn := func(dsn string, want int) {
		t.Helper()
		testharness.Eventually(t, 30*time.Second, func() string {
			db, _ := f.get(dsn)
			if db == nil {
				return "no client opened for " + dsn
			}
			st, err := db.Observe(ctx)
			if err != nil || len(st.Users) != want {
				return fmt.Sprintf("%s holds %d users (err %v), want %d", dsn, len(st.Users), err, want)
			}
			return ""
		})
	}
	rowsIn("fake://one", 2)
	for i := range 3 {
		users = append(users, newUser(t, c, ns, "okta", fmt.Sprintf("more%d@example.com", i)))
	}
	rowsIn("fake://one", 5)
	if _, opened := f.get("fake://one"); opened != 1 {
		t.Errorf("client for fake://one opened %d times, want once", opened)
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-db"}}
	if err := c.Patch(ctx, secret, client.RawPatch(types.MergePatchType, []byte(`{"stringData":{"dsn":"fake://two"}}`))); err != nil {
		t.Fatal(err)
	}
	rowsIn("fake://two", 5)
	if old, _ := f.get("fake://one"); old.Ping(ctx) == nil {
		t.Errorf("the client of the replaced DSN was not closed")
	}

	db, _ := f.get("fake://two")
	waitFor := func(ready, reachable metav1.ConditionStatus, reason string) {
		t.Helper()
		testharness.Eventually(t, time.Minute, func() string {
			r, d := tn.condition(t, scimv1.ConditionReady), tn.condition(t, scimv1.ConditionDatabaseReachable)
			if r == nil || d == nil || r.Status != ready || r.Reason != reason || d.Status != reachable {
				return fmt.Sprintf("conditions %+v / %+v, want Ready=%s (%s), DatabaseReachable=%s", r, d, ready, reason, reachable)
			}
			return ""
		})
	}
	refused := errors.New("permission denied for table users")
	db.FailWith(tenantdb.OpApplyUsers, refused)
	newUser(t, c, ns, "okta", "late@example.com")
	waitFor(metav1.ConditionFalse, metav1.ConditionTrue, tenantapp.ReasonSyncFailed)

	db.FailWith(tenantdb.OpPing, errors.New("connection refused"))
	db.FailWith(tenantdb.OpFullSync, errors.New("connection refused"))
	waitFor(metav1.ConditionFalse, metav1.ConditionFalse, tenantapp.ReasonDatabaseUnreachable)

	for _, op := range []tenantdb.Op{tenantdb.OpApplyUsers, tenantdb.OpPing, tenantdb.OpFullSync} {
		db.FailWith(op, nil)
	}
	waitFor(metav1.ConditionTrue, metav1.ConditionTrue, tenantapp.ReasonSynced)
	rowsIn("fake://two", 6)
}
