package faults

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// Bounds of TestTenantDatabaseStall, generous for a loaded 2-core machine.
const (
	// stallReportBudget: from the stall's start to DatabaseReachable=False.
	// A call caught mid-stream waits for its timeout
	// (tenantapp.DefaultCallTimeout, 60 s), then a ping (5 s) tells an
	// unreachable database from a failing one.
	stallReportBudget = 90 * time.Second
	// stallHold: how long the stall goes on once it is reported.
	stallHold = 10 * time.Second
	// stallRecoveryBudget: from the stall's end to tables equal to the CRs.
	// Without tenantdb's connect and ping timeouts, an attempt caught in
	// the stall holds the retry for a whole call timeout (60 s), and with a
	// longer stall the pool's slots stay taken by connection attempts that
	// never end.
	stallRecoveryBudget = 30 * time.Second
	// stallSCIMP99: the p99 SCIM latency allowed during the stall; waiting
	// on the stalled database would take seconds.
	stallSCIMP99 = 2 * time.Second
	// stallLatency is what the proxy adds to every chunk, each way, before
	// the stall; projection must cope with it.
	stallLatency = 20 * time.Millisecond
)

// TestTenantDatabaseStall puts a TCP proxy between the operator and the
// PostgreSQL of endpoint A's TenantApp; endpoint B's TenantApp reaches the
// same server directly. The proxy first adds latency (projection goes on),
// then stalls: open connections stop forwarding mid-stream and new ones are
// accepted but never answered. While stalled, SCIM traffic (creates, reads,
// group changes, deletions) flows on A and B and must all succeed quickly
// (SCIM never waits on a tenant database); A must report the stall
// (DatabaseReachable=False, a DatabaseUnreachable Event, the
// scim_tenantapp_database_up metric at 0) within stallReportBudget and retry
// at a bounded rate; B's projection must go on. Once the stall ends, A's
// tables must equal the CRs within stallRecoveryBudget, with the deleted
// users released.
func TestTenantDatabaseStall(t *testing.T) {
	pg := pgtest.Start(t)
	dsnA, dsnB := pgtest.NewDatabase(t, pg), pgtest.NewDatabase(t, pg)
	proxy := startStallProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.Port())))
	proxiedA := strings.Replace(dsnA, "127.0.0.1:"+strconv.Itoa(pg.Port()), proxy.Addr(), 1)

	metricsAddr := freeLoopbackAddr(t)
	op, err := testharness.StartOperatorWith(cp, testharness.Options{MetricsAddr: metricsAddr})
	if err != nil {
		t.Fatalf("starting the operator: %v", err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})
	ea := op.NewEndpoint(t, testharness.UniqueName("faults-stall-a"), "idp")
	eb := op.NewEndpoint(t, testharness.UniqueName("faults-stall-b"), "idp")
	ta := newTenant(t, op.Client, ea.Namespace, "app", "idp", proxiedA, dsnA)
	tb := newTenant(t, op.Client, eb.Namespace, "app", "idp", dsnB, dsnB)
	seedA, _ := createUsers(t, ea, "stall-a", 30)
	groupA := mustCreateGroup(t, ea, "team", seedA...)
	seedB, _ := createUsers(t, eb, "stall-b", 30)
	groupB := mustCreateGroup(t, eb, "team", seedB...)
	for _, tn := range []*tenant{ta, tb} {
		if problem := testharness.Wait(60*time.Second, tn.diff); problem != "" {
			t.Fatalf("TenantApp %s never synced: %s", tn.key, problem)
		}
	}

	// Latency: projection goes on, a little slower.
	proxy.setLatency(stallLatency)
	start := time.Now()
	more, _ := createUsers(t, ea, "stall-a-slow", 10)
	addMembers(t, ea, groupA, more...)
	if problem := testharness.Wait(30*time.Second, ta.diff); problem != "" {
		t.Fatalf("with %v of latency, the tables did not follow: %s", stallLatency, problem)
	}
	if problem := ta.conditionIs(scimv1.ConditionReady, metav1.ConditionTrue); problem != "" {
		t.Fatalf("with %v of latency: %s", stallLatency, problem)
	}
	t.Logf("with %v added to every chunk each way, 10 new users reached the tables %v after their creation began",
		stallLatency, time.Since(start).Round(time.Millisecond))
	proxy.setLatency(0)

	// The stall.
	errorsBefore, _ := scrapeMetric(t, metricsAddr, "scim_tenantapp_database_errors_total", ta.key.Namespace)
	acceptedBefore := proxy.accepted.Load()
	proxy.stall()
	stalled := time.Now()
	trafficA := startStallTraffic(ea, groupA, seedA[:10])
	trafficB := startStallTraffic(eb, groupB, nil)
	stopTraffic := func() { trafficA.stop(); trafficB.stop() }
	defer stopTraffic()

	if problem := testharness.Wait(stallReportBudget, func() string {
		return ta.conditionIs(scimv1.ConditionDatabaseReachable, metav1.ConditionFalse)
	}); problem != "" {
		t.Fatalf("the stall was not reported within %v: %s", stallReportBudget, problem)
	}
	reported := time.Since(stalled)
	t.Logf("DatabaseReachable=False %v after the stall began", reported.Round(time.Millisecond))
	if problem := testharness.Wait(10*time.Second, func() string { return unreachableEvent(op.Client, ta.key.Namespace) }); problem != "" {
		t.Error(problem)
	}
	if up, ok := scrapeMetric(t, metricsAddr, "scim_tenantapp_database_up", ta.key.Namespace); !ok || up != 0 {
		t.Errorf("scim_tenantapp_database_up = %v (present %v) during the stall, want 0", up, ok)
	}
	// B's projection goes on while A's database is stalled.
	marker := createUsersOrFail(t, eb, "stall-b-marker", 1)[0]
	if problem := testharness.Wait(20*time.Second, func() string {
		if st, err := tb.tables(); err != nil || !hasUser(st.Users, marker) {
			return fmt.Sprintf("a user created on B during A's stall has no row in B's database (err %v)", err)
		}
		return ""
	}); problem != "" {
		t.Error(problem)
	}
	time.Sleep(stallHold)

	proxy.resume()
	resumed := time.Now()
	stopTraffic()
	stallLen := resumed.Sub(stalled)
	if problem := testharness.Wait(stallRecoveryBudget, func() string {
		if d := ta.diff(); d != "" {
			return d
		}
		if held := terminatingUsers(t, op.Client, ta.key.Namespace); len(held) > 0 {
			return fmt.Sprintf("%d users still in Terminating, e.g. %s", len(held), held[0])
		}
		return ta.conditionIs(scimv1.ConditionDatabaseReachable, metav1.ConditionTrue)
	}); problem != "" {
		t.Fatalf("not recovered %v after the stall ended: %s", stallRecoveryBudget, problem)
	}
	recovered := time.Since(resumed)

	errorsAfter, _ := scrapeMetric(t, metricsAddr, "scim_tenantapp_database_errors_total", ta.key.Namespace)
	failedPasses := errorsAfter - errorsBefore
	attempts := proxy.stalledAccepts.Load()
	t.Logf("stalled %v: %d failed passes, %d connections attempted into the stall (%d in all since it began); "+
		"tables equal to the CRs and DatabaseReachable=True %v after the stall ended",
		stallLen.Round(time.Millisecond), int(failedPasses), attempts, proxy.accepted.Load()-acceptedBefore, recovered.Round(time.Millisecond))
	// Backing off: every attempt is bounded by timeouts of seconds and
	// followed by a growing pause, so a handful per minute; a hot loop
	// would open a connection per requeue.
	if limit := int64(stallLen/(2*time.Second)) + 5; attempts > limit {
		t.Errorf("%d connections attempted during a %v stall, want at most %d: projection does not back off", attempts, stallLen.Round(time.Second), limit)
	}
	if failedPasses < 1 || failedPasses > stallLen.Seconds()/2+5 {
		t.Errorf("%v failed passes counted during a %v stall, want between 1 and one per 2 s", failedPasses, stallLen.Round(time.Second))
	}
	for _, tr := range []struct {
		name string
		tr   *stallTraffic
	}{{"A (stalled database)", trafficA}, {"B (other endpoint)", trafficB}} {
		n, failed, p50, p99, slowest := tr.tr.summary()
		t.Logf("SCIM on endpoint %s during the stall: %d requests, %d failed, p50 %v, p99 %v, slowest %v",
			tr.name, n, len(failed), p50.Round(time.Millisecond), p99.Round(time.Millisecond), slowest.Round(time.Millisecond))
		if n < 20 {
			t.Errorf("only %d SCIM requests on endpoint %s during the stall", n, tr.name)
		}
		if len(failed) > 0 {
			t.Errorf("%d SCIM requests on endpoint %s failed during the stall, e.g. %s", len(failed), tr.name, failed[0])
		}
		if p99 > stallSCIMP99 {
			t.Errorf("SCIM p99 on endpoint %s during the stall = %v, want at most %v", tr.name, p99, stallSCIMP99)
		}
	}
	if d := tb.diff(); d != "" {
		t.Errorf("B's tables: %s", d)
	}
}

// unreachableEvent returns "" once a Warning Event DatabaseUnreachable about
// TenantApp "app" exists in ns.
func unreachableEvent(c client.Client, ns string) string {
	var events eventsv1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
		return err.Error()
	}
	for _, e := range events.Items {
		if e.Regarding.Name == "app" && e.Reason == tenantapp.ReasonDatabaseUnreachable && e.Type == "Warning" {
			return ""
		}
	}
	return "no Warning Event " + tenantapp.ReasonDatabaseUnreachable + " about the TenantApp"
}

// addMembers adds users to a group through SCIM.
func addMembers(t *testing.T, e *testharness.Endpoint, group string, ids ...string) {
	t.Helper()
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = map[string]any{"value": id}
	}
	if r := e.Do(t, http.MethodPatch, "/Groups/"+group, patchOp(op("add", "members", values))); r.Status/100 != 2 {
		t.Fatalf("PATCH /Groups/%s: %d %s", group, r.Status, snippet(r.Body))
	}
}

// createUsersOrFail is createUsers returning the ids only.
func createUsersOrFail(t *testing.T, e *testharness.Endpoint, prefix string, n int) []string {
	t.Helper()
	ids, _ := createUsers(t, e, prefix, n)
	return ids
}

// freeLoopbackAddr returns a loopback host:port free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// terminatingUsers lists the ScimUsers of ns being deleted.
func terminatingUsers(t *testing.T, c client.Client, ns string) []string {
	t.Helper()
	out, err := testharness.TerminatingUsers(context.Background(), c, ns)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
