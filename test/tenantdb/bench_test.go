package tenantdb_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// The benchmark tenant: 10,000 users in 100 groups, each user in 5 of them
// (50,000 memberships), the size bench/README.md measures.
const (
	benchUsers         = 10000
	benchGroups        = 100
	benchGroupsPerUser = 5
	latencySamples     = 200
)

// BenchmarkTenantApp creates the benchmark tenant once and measures:
//
//   - FullSync: one reconcile of a new TenantApp into an empty schema (desired
//     state from the cache, migrations, the full COPY-based sync, status),
//     reported as rows (users + groups + memberships) per second;
//   - DeactivationLatency: from sending an Okta deactivation (SCIM PATCH
//     active=false) to the operator to the row reading active=false, p50
//     and p99 over 200 users, with the whole operator running, and the p50
//     of the PATCH request alone.
func BenchmarkTenantApp(b *testing.B) {
	c, err := cp.Client()
	if err != nil {
		b.Fatal(err)
	}
	ns := testharness.Namespace(b)
	began := time.Now()
	rows := createBenchTenant(b, c, ns)
	b.Logf("created %d users, %d groups and their memberships in %s", benchUsers, benchGroups, time.Since(began).Round(time.Second))
	b.Run("FullSync", func(b *testing.B) { benchFullSync(b, c, ns, rows) })
	b.Run("DeactivationLatency", func(b *testing.B) { benchDeactivationLatency(b, ns) })
}

// benchFullSync reconciles fresh TenantApps by calling Reconcile directly.
// A TenantApp created first (untimed) gives every user its finalizer, as in
// steady state; each timed iteration then writes a new, empty schema.
func benchFullSync(b *testing.B, c client.Client, ns string, rows int) {
	mgr, r := benchReconciler(b)
	ctx := context.Background()
	// A TenantApp of a missing endpoint writes nothing; the endpoint is
	// removed again for benchDeactivationLatency, which makes a real one.
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta"},
		Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "okta-token", Key: "token"}}}}
	if err := c.Create(ctx, ep); client.IgnoreAlreadyExists(err) != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Delete(ctx, ep) }()
	dsn := pgtest.NewDatabase(b, pg)
	round := uuid.NewString()[:8] // the framework may call this function more than once
	holder := benchApp(b, c, mgr, ns, "holder-"+round, dsn, "holder_"+round)
	for pass := 0; ; pass++ { // a chunk of finalizers per pass
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: holder}); err != nil {
			b.Fatal(err)
		}
		var held scimv1.ScimUserList
		if err := mgr.GetClient().List(ctx, &held, client.InNamespace(ns),
			client.MatchingFields{tenantapp.IndexUserHeld: "okta"}); err != nil {
			b.Fatal(err)
		}
		if len(held.Items) == benchUsers {
			break
		}
		if pass == 1000 {
			b.Fatalf("only %d of %d users held after %d passes", len(held.Items), benchUsers, pass)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var elapsed time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		schema := fmt.Sprintf("bench_%s_%d", round, i)
		key := benchApp(b, c, mgr, ns, fmt.Sprintf("app-%s-%d", round, i), dsn, schema)
		b.StartTimer()
		start := time.Now()
		res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		var app scimv1.TenantApp
		if err := c.Get(ctx, key, &app); err != nil {
			b.Fatal(err)
		}
		if app.Status.SyncedUsers != benchUsers || app.Status.SyncedGroups != benchGroups {
			b.Fatalf("synced %d users and %d groups (requeue %v), want %d and %d; conditions %+v",
				app.Status.SyncedUsers, app.Status.SyncedGroups, res, benchUsers, benchGroups, app.Status.Conditions)
		}
		if n := countRows(b, dsn, schema); n != rows {
			b.Fatalf("tables hold %d rows, want %d", n, rows)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/sync")
}

// benchDeactivationLatency runs the whole operator and deactivates users
// through SCIM one at a time, timing each until its row shows it.
func benchDeactivationLatency(b *testing.B, ns string) {
	op := testharness.RunOperator(b, cp, testharness.Options{})
	ep := op.NewEndpoint(b, ns, "okta")
	tn := newTenant(b, op.Client, ns, "latency-"+uuid.NewString()[:8], "okta", "")
	b.Cleanup(func() { releaseApp(op.Client, tn.Key) }) // runs first: keeps the users' finalizers
	testharness.Eventually(b, 5*time.Minute, func() string {
		if n := tn.app(b).Status.SyncedUsers; n != benchUsers {
			return fmt.Sprintf("%d of %d users synced", n, benchUsers)
		}
		return ""
	})
	st, err := tn.snapshot()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, tn.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var latencies, requests []time.Duration
	b.ResetTimer()
	for n := range b.N {
		for i := range latencySamples {
			id := st.Users[(n*latencySamples+i)%len(st.Users)].ID
			start := time.Now()
			setActive(b, ep, id, false)
			requests = append(requests, time.Since(start))
			deadline := start.Add(time.Minute)
			for {
				var active bool
				if err := conn.QueryRow(ctx, `SELECT active FROM scim.users WHERE id = $1`, id).Scan(&active); err != nil {
					b.Fatal(err)
				}
				if !active {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("user %s still active a minute after its deactivation", id)
				}
				time.Sleep(2 * time.Millisecond)
			}
			latencies = append(latencies, time.Since(start))
			setActive(b, ep, id, true) // leave the tenant as it was
		}
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(latencies, 0.50), "p50-ms")
	b.ReportMetric(pct(latencies, 0.99), "p99-ms")
	b.ReportMetric(pct(latencies, 1), "max-ms")
	// The SCIM request alone (the server returns once its cache has the
	// change): the rest of the latency is the projection.
	b.ReportMetric(pct(requests, 0.50), "patch-p50-ms")
}

// benchReconciler starts a manager with the indexes but no controller, so
// the benchmark alone calls Reconcile.
func benchReconciler(b *testing.B) (ctrl.Manager, *tenantapp.Reconciler) {
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme: controlplane.Scheme(), Logger: zap.New(zap.WriteTo(io.Discard)),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := scimstore.RegisterIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		b.Fatal(err)
	}
	if err := tenantapp.RegisterIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		b.Fatal("cache did not sync")
	}
	return mgr, &tenantapp.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(),
		Recorder: mgr.GetEventRecorder("bench"), NewClient: tenantapp.PostgresClient}
}

// benchApp creates a TenantApp writing schema, waits until the manager's
// cache has it, and removes it at the end without releasing the users.
func benchApp(b *testing.B, c client.Client, mgr ctrl.Manager, ns, name, dsn, schema string) types.NamespacedName {
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-db"}, StringData: map[string]string{"dsn": dsn}}
	app := &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: scimv1.TenantAppSpec{
		Endpoint: "okta", Database: scimv1.TenantDatabase{Schema: schema,
			ConnectionSecretRef: scimv1.SecretKeyReference{Name: secret.Name, Key: "dsn"}}}}
	for _, o := range []client.Object{secret, app} {
		if err := c.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	key := client.ObjectKeyFromObject(app)
	testharness.Eventually(b, 30*time.Second, func() string {
		if err := mgr.GetClient().Get(ctx, key, &scimv1.TenantApp{}); err != nil {
			return err.Error()
		}
		return ""
	})
	b.Cleanup(func() { releaseApp(c, key) })
	return key
}

// releaseApp deletes a TenantApp without its reconcileDelete, which would
// release the 10,000 users' finalizers one patch at a time.
func releaseApp(c client.Client, key types.NamespacedName) {
	ctx := context.Background()
	var cur scimv1.TenantApp
	if err := c.Get(ctx, key, &cur); err != nil {
		return
	}
	base := cur.DeepCopy()
	controllerutil.RemoveFinalizer(&cur, tenantapp.FinalizerApp)
	_ = c.Patch(ctx, &cur, client.MergeFrom(base))
	_ = c.Delete(ctx, &cur)
}

// countRows counts the rows of the three tables of schema.
func countRows(b *testing.B, dsn, schema string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	s := pgx.Identifier{schema}.Sanitize()
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+s+`.users) + (SELECT count(*) FROM `+s+
		`.groups) + (SELECT count(*) FROM `+s+`.group_members)`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// createBenchTenant creates the benchmark's users, groups and membership
// shards directly through the API (as the SCIM server stores them) and
// returns the number of rows they project to.
func createBenchTenant(b *testing.B, c client.Client, ns string) int {
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	label := map[string]string{scimv1.LabelEndpoint: "okta"}
	var objs []client.Object
	groups := make([]*scimv1.ScimGroup, benchGroups)
	for g := range groups {
		groups[g] = &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: uuid.NewString(), Labels: label},
			Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: fmt.Sprintf("Team %d", g)}}
		objs = append(objs, groups[g])
	}
	members := make([][]scimv1.Member, benchGroups)
	for u := range benchUsers {
		id := uuid.NewString()
		email := fmt.Sprintf("user%d@example.com", u)
		objs = append(objs, &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: id, Labels: label},
			Spec: scimv1.ScimUserSpec{Endpoint: "okta", UserName: email, ExternalID: fmt.Sprintf("00u%08d", u), Active: true,
				DisplayName: fmt.Sprintf("User %d", u), Name: &scimv1.Name{GivenName: "Given", FamilyName: fmt.Sprintf("Family%d", u)},
				Emails: []scimv1.MultiValuedAttribute{{Value: email, Type: "work", Primary: true}}}})
		for k := range benchGroupsPerUser {
			g := (u + k*17) % benchGroups
			members[g] = append(members[g], scimv1.Member{Value: id, Type: "User"})
		}
	}
	for gi, ms := range members {
		g := groups[gi]
		for _, sh := range scimstore.LayoutShards(g.Name, ms) {
			sh.Namespace = ns
			sh.Labels = map[string]string{scimv1.LabelEndpoint: "okta", scimv1.LabelGroup: g.Name}
			objs = append(objs, sh)
		}
	}
	createAll(b, c, objs)
	return benchUsers + benchGroups + benchUsers*benchGroupsPerUser
}

// createAll creates objects with 32 parallel clients.
func createAll(b *testing.B, c client.Client, objs []client.Object) {
	work := make(chan client.Object)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if err := c.Create(context.Background(), o); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
