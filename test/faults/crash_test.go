package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// Sizes of TestOperatorCrash: crashUsers users in group "crew", the first
// crashDoomed of them also in group "doomed", which the second crash deletes
// with its members.
const (
	crashUsers  = 1000
	crashDoomed = 400
)

// crashWorld is the state TestOperatorCrash builds and checks.
type crashWorld struct {
	top          *testing.T // owns the processes and the Lease
	c            client.Client
	kubeconfig   string
	leaseID      string
	ns           string
	proc         *operatorProcess // serves e
	e            *testharness.Endpoint
	tn           *tenant
	ids, names   []string // users, by index
	crew, doomed string   // group ids
}

// TestOperatorCrash SIGKILLs the operator process (the test binary re-executed
// as the operator, leader election on as in main.go) in the middle of
// reconciles, restarts it and checks that it converges with nothing stuck:
//
//  1. while projecting 1,000 new users into a TenantApp's database and two
//     RoleBindings: killed as soon as a RoleBinding appears (finalizers are
//     being added, no row is written), then, restarted, as soon as the first
//     rows appear (a pass writes at most 500);
//  2. while unwinding the SCIM deletion of group "doomed" and its 400
//     members, whose deletion finalizers are held (tenant-apps on each user,
//     rbac-cleanup on the group's ScimRoleBinding, deleted too): killed the
//     moment it is elected, then, restarted, as soon as the first user's
//     finalizer is released.
//
// To land the kills mid-reconcile, the SCIM requests of each step go to a
// replica that is not elected (the test holds the Lease), and the Lease is
// handed over once they are all done, so the whole backlog is reconciled at
// once. The time from the restart to convergence is logged; it includes
// waiting for the dead leader's Lease to expire (childLeaseDuration).
func TestOperatorCrash(t *testing.T) {
	w := setUpCrashWorld(t)
	t.Run("killed while projecting 1,000 users", w.crashWhileProjecting)
	if t.Failed() {
		return
	}
	t.Run("killed while deleting a group and its members", w.crashWhileDeleting)
}

// setUpCrashWorld starts PostgreSQL and a first operator process that is not
// elected, and provisions the users and groups through its SCIM server.
func setUpCrashWorld(t *testing.T) *crashWorld {
	t.Helper()
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	kc, err := cp.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	w := &crashWorld{top: t, c: c, kubeconfig: filepath.Join(t.TempDir(), "kubeconfig"),
		leaseID: testharness.UniqueName("faults-crash"), ns: testharness.UniqueName("faults-crash")}
	if err := os.WriteFile(w.kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	pg := pgtest.Start(t)
	dsn := pgtest.NewDatabase(t, pg)

	holdLease(t, c, w.leaseID)
	t.Cleanup(func() { // after the processes stopped
		_ = c.Delete(context.Background(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: w.leaseID}})
	})
	p := w.start(t)
	w.e = (&testharness.Operator{Client: c, Addr: p.Addr}).NewEndpoint(t, w.ns, "idp")
	for _, b := range []struct{ name, group, role string }{{"crew-view", "crew", "view"}, {"doomed-edit", "doomed", "edit"}} {
		if err := c.Create(context.Background(), roleBinding(w.ns, b.name, b.group, b.role)); err != nil {
			t.Fatalf("creating ScimRoleBinding %s: %v", b.name, err)
		}
	}
	start := time.Now()
	w.ids, w.names = createUsers(t, w.e, "crash", crashUsers)
	w.crew = mustCreateGroup(t, w.e, "crew", w.ids...)
	w.doomed = mustCreateGroup(t, w.e, "doomed", w.ids[:crashDoomed]...)
	t.Logf("provisioned %d users and 2 groups through SCIM in %v (no replica elected)",
		crashUsers, time.Since(start).Round(time.Millisecond))
	// The TenantApp comes after the users, as when one is added to an
	// endpoint in use: users created while it exists are created held, and
	// the projection must add the finalizers of these itself.
	w.tn = newTenant(t, c, w.ns, "app", "idp", dsn, dsn)
	w.retarget(t, p)
	return w
}

// crashWhileProjecting hands the Lease to the replica and kills it twice:
// first as soon as a RoleBinding appears (finalizers are being added, no
// row is written yet), then, after a restart, as soon as the first rows
// appear in the database. A third process must converge.
func (w *crashWorld) crashWhileProjecting(t *testing.T) {
	p := w.current(t)
	releaseLease(t, w.c, w.leaseID)
	p.waitElected(t, 30*time.Second)
	w.killWhen(t, p, "a RoleBinding appears", func() bool { return w.subjectCount(t) > 0 }, w.projected)
	p = w.restart(t)
	w.killWhen(t, p, "the first rows appear", func() bool { return w.tn.userRows() > 0 }, w.projected)
	w.converge(t, w.restart(t), w.ids, w.names, []string{w.crew, w.doomed})
}

// projected describes how far the projection of the users got, and whether
// it is complete.
func (w *crashWorld) projected(t *testing.T) (string, bool) {
	rows, held, subjects := w.tn.userRows(), w.heldUsers(t), w.subjectCount(t)
	return fmt.Sprintf("%d of %d rows written, %d of %d users hold the tenant finalizer, %d of %d RoleBinding subjects",
			rows, crashUsers, held, crashUsers, subjects, crashUsers+crashDoomed),
		rows == crashUsers && held == crashUsers && subjects == crashUsers+crashDoomed
}

// crashWhileDeleting stops the leader cleanly, lets the test hold the Lease,
// deletes group "doomed", its members and its binding through a replica that
// is not elected, then hands the Lease over and kills the leader twice: the
// moment it is elected (its first reconciles have just begun), and, after a
// restart, as soon as the first deleted user is released. A third process
// must converge.
func (w *crashWorld) crashWhileDeleting(t *testing.T) {
	w.current(t).stop()
	holdLease(t, w.c, w.leaseID)
	p := w.start(t)
	w.retarget(t, p)

	start := time.Now()
	deleteResources(t, w.e, "/Groups/"+w.doomed)
	paths := make([]string, crashDoomed)
	for i, id := range w.ids[:crashDoomed] {
		paths[i] = "/Users/" + id
	}
	deleteResources(t, w.e, paths...)
	if err := w.c.Delete(context.Background(), roleBinding(w.ns, "doomed-edit", "", "")); err != nil {
		t.Fatalf("deleting ScimRoleBinding doomed-edit: %v", err)
	}
	t.Logf("deleted the group and its %d members through SCIM in %v (no replica elected)", crashDoomed, time.Since(start).Round(time.Millisecond))
	if n := len(w.terminating(t)); n != crashDoomed+1 {
		t.Fatalf("%d objects in Terminating before the handover, want %d: the deleted users and the binding", n, crashDoomed+1)
	}

	releaseLease(t, w.c, w.leaseID)
	p.waitElected(t, 30*time.Second)
	w.killWhen(t, p, "it is elected", func() bool { return true }, w.unwound)
	gone := watchDeletedUsers(t, w.ns) // from now on, only a restarted leader releases
	p = w.restart(t)
	w.killWhen(t, p, "the first deleted user is released", func() bool { return gone.Load() > 0 }, w.unwound)
	w.converge(t, w.restart(t), w.ids[crashDoomed:], w.names[crashDoomed:], []string{w.crew})
	if err := w.c.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "doomed-edit"}, &scimv1.ScimRoleBinding{}); err == nil {
		t.Error("ScimRoleBinding doomed-edit still exists")
	}
}

// unwound describes how far the deletion got, and whether it is complete.
func (w *crashWorld) unwound(t *testing.T) (string, bool) {
	held := w.terminating(t)
	subjects, err := boundSubjects(w.c, w.ns)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d of %d user rows left, %d objects in Terminating, %d edit and %d view RoleBinding subjects",
		w.tn.userRows(), crashUsers, len(held), len(subjects["edit"]), len(subjects["view"])), len(held) == 0
}

// killWhen SIGKILLs the elected process p as soon as cond holds, logs the
// state (as told by state) and fails the test when that state was already
// complete: the kill must land mid-reconcile.
func (w *crashWorld) killWhen(t *testing.T, p *operatorProcess, what string, cond func() bool, state func(*testing.T) (string, bool)) {
	t.Helper()
	if !testharness.WaitTrue(60*time.Second, func() bool { p.alive(t); return cond() }) {
		t.Fatalf("waited 60 s in vain for the moment to kill the leader: %s", what)
	}
	p.kill(t)
	took := time.Since(p.electedAt)
	desc, complete := state(t)
	t.Logf("killed when %s, %v after the election: %s", what, took.Round(time.Millisecond), desc)
	if complete {
		t.Fatal("the kill came too late: the reconciles had finished")
	}
}

// start starts an operator process that lives until the whole test ends.
func (w *crashWorld) start(t *testing.T) *operatorProcess {
	t.Helper()
	return startOperatorProcess(t, w.top, w.kubeconfig, w.leaseID)
}

// current is the operator process serving the endpoint; it must be alive.
func (w *crashWorld) current(t *testing.T) *operatorProcess {
	t.Helper()
	w.proc.alive(t)
	return w.proc
}

// retarget sends the endpoint's SCIM requests to p, once p accepts the token.
func (w *crashWorld) retarget(t *testing.T, p *operatorProcess) {
	t.Helper()
	w.proc = p
	w.e = onProcess(t, w.e, p)
}

// restart starts a new operator process after a crash and waits until it is
// elected; the old leader's Lease must expire first.
func (w *crashWorld) restart(t *testing.T) *operatorProcess {
	t.Helper()
	p := w.start(t)
	w.retarget(t, p)
	at := p.waitElected(t, 60*time.Second)
	t.Logf("restarted: elected %v after the process started (the dead leader's Lease had to expire first)",
		at.Sub(p.Started).Round(time.Millisecond))
	return p
}

// onProcess returns e as served by p, once p accepts its token.
func onProcess(t *testing.T, e *testharness.Endpoint, p *operatorProcess) *testharness.Endpoint {
	t.Helper()
	other := *e
	other.BaseURL = "http://" + p.Addr + scimPath(e)
	if !testharness.WaitTrue(60*time.Second, func() bool {
		return other.Do(t, http.MethodGet, "/ServiceProviderConfig", nil).Status == http.StatusOK
	}) {
		t.Fatalf("operator process %s never accepted the endpoint's token", p.Addr)
	}
	return &other
}

// watchDeletedUsers counts the ScimUsers of ns that disappear (deleted and
// released by every finalizer) from now on.
func watchDeletedUsers(t *testing.T, ns string) *atomic.Int64 {
	t.Helper()
	wc, err := client.NewWithWatch(cp.Config, client.Options{Scheme: controlplane.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wi, err := wc.Watch(ctx, &scimv1.ScimUserList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Deleted {
				n.Add(1)
			}
		}
	}()
	t.Cleanup(func() { cancel(); wi.Stop(); <-done })
	return &n
}
