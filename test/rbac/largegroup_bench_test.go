package rbac_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// BenchmarkLargeGroupMemberChange binds a 100,000-member group, then times 20
// single-member changes (10 members removed and added back, through SCIM as
// Okta sends them): from the PATCH request until the RoleBinding shard of the
// member reflects the change. Besides p50 and max latency it reports, per
// change, the wall time spent in the binding reconcilers (controller-runtime's
// reconcile time metric) and the CPU time of this process (operator, SCIM
// server and the benchmark's own watch).
func BenchmarkLargeGroupMemberChange(b *testing.B) {
	const members, changed = 100000, 10
	ep := op.NewEndpoint(b, "rbac-bench-large", "okta")
	ns := ep.Namespace
	ids := seedGroup(b, ns, "big-group", "everyone", members)

	w := watchSubject(b, ns)
	bind(b, ns, "everyone", "okta", "everyone", view)
	waitUntil(b, 10*time.Minute, "100,000 subjects projected", func() bool { return w.subjects() == members })

	rec0, cpu0 := reconcileSeconds(b), processCPU()
	stopProfile := profileChanges(b)
	b.ResetTimer()
	var latencies []time.Duration
	for k := 0; k < changed; k++ {
		id := ids[k*members/changed]
		for _, step := range []struct {
			op      map[string]any
			granted bool
		}{
			{map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", id)}, false},
			{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}, true},
		} {
			done := w.expect(userName(id), step.granted)
			start := time.Now()
			resp := ep.Do(b, "PATCH", "/Groups/big-group", map[string]any{"schemas": []string{patchURN}, "Operations": []any{step.op}})
			if resp.Status != http.StatusOK && resp.Status != http.StatusNoContent {
				b.Fatalf("PATCH /Groups/big-group: %d %s", resp.Status, resp.Body)
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				b.Fatalf("%s of %s: not projected within a minute", step.op["op"], id)
			}
			latencies = append(latencies, time.Since(start))
		}
	}
	b.StopTimer()
	rec1, cpu1 := reconcileSeconds(b), processCPU()
	stopProfile()
	if n := w.subjects(); n != members {
		b.Fatalf("%d subjects after the changes, want %d", n, members)
	}
	n := float64(len(latencies))
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
	b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
	b.ReportMetric((rec1-rec0)*1000/n, "reconcile-ms/change")
	b.ReportMetric(ms(cpu1-cpu0)/n, "cpu-ms/change")
}

// profileChanges writes a CPU profile of the changes alone, without the
// seeding and the first projection, to the file RBAC_BENCH_CPUPROFILE names
// (none when unset). It returns the function that stops it.
func profileChanges(tb testing.TB) func() {
	tb.Helper()
	path := os.Getenv("RBAC_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		tb.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// seedGroup creates n active users and a group holding all of them straight
// through the API, as the SCIM server stores them: the SCIM path is measured
// elsewhere, this is about the projection. It returns the user ids, sorted.
func seedGroup(tb testing.TB, ns, group, displayName string, n int) []string {
	tb.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("u-%06d", i)
	}
	written := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	parallel(tb, 32, n, func(i int) error {
		return op.Client.Create(ctx, &scimv1.ScimUser{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ids[i], Labels: map[string]string{scimv1.LabelEndpoint: "okta"},
				Annotations: map[string]string{scimv1.AnnotationLastModified: written}},
			Spec: scimv1.ScimUserSpec{Endpoint: "okta", UserName: userName(ids[i]), Active: true},
		})
	})
	if err := op.Client.Create(ctx, &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: group,
		Labels: map[string]string{scimv1.LabelEndpoint: "okta"}, Annotations: map[string]string{scimv1.AnnotationLastModified: written}},
		Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: displayName}}); err != nil {
		tb.Fatal(err)
	}
	ms := make([]scimv1.Member, len(ids))
	for i, id := range ids {
		ms[i] = scimv1.Member{Value: id, Type: "User"}
	}
	for _, sh := range scimstore.LayoutShards(group, ms) {
		sh.Namespace = ns
		sh.Labels = map[string]string{scimv1.LabelEndpoint: "okta", scimv1.LabelGroup: group}
		if err := op.Client.Create(ctx, sh); err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

func userName(id string) string { return id + "@example.com" }

// subjectWatch follows the RoleBindings of a namespace through an informer
// and signals when one subject is granted or revoked, so waiting costs no
// API call and no scan of every subject.
type subjectWatch struct {
	mu     sync.Mutex
	counts map[string]int // subjects per RoleBinding
	want   string
	grant  bool
	done   chan struct{}
}

func watchSubject(tb testing.TB, ns string) *subjectWatch {
	tb.Helper()
	c, err := cache.New(op.CP.Config, cache.Options{Scheme: controlplane.Scheme(),
		DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	inf, err := c.GetInformer(ctx, &rbacv1.RoleBinding{})
	if err != nil {
		tb.Fatal(err)
	}
	w := &subjectWatch{counts: map[string]int{}}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.observe(nil, o.(*rbacv1.RoleBinding)) },
		UpdateFunc: func(old, o any) { w.observe(old.(*rbacv1.RoleBinding), o.(*rbacv1.RoleBinding)) },
		DeleteFunc: func(o any) {
			if rb, ok := o.(*rbacv1.RoleBinding); ok {
				w.mu.Lock()
				delete(w.counts, rb.Name)
				w.mu.Unlock()
			}
		},
	}); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	c.WaitForCacheSync(ctx)
	return w
}

// expect arms the watch: the returned channel is closed once a RoleBinding
// change grants (or revokes) subject.
func (w *subjectWatch) expect(subject string, grant bool) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want, w.grant, w.done = subject, grant, make(chan struct{})
	return w.done
}

func (w *subjectWatch) observe(old, rb *rbacv1.RoleBinding) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts[rb.Name] = len(rb.Subjects)
	if w.done == nil {
		return
	}
	has := func(rb *rbacv1.RoleBinding) bool {
		if rb == nil {
			return false
		}
		for _, s := range rb.Subjects {
			if s.Name == w.want {
				return true
			}
		}
		return false
	}
	now := has(rb)
	if now == w.grant && now != has(old) {
		close(w.done)
		w.done = nil
	}
}

// subjects is the number of subjects over every RoleBinding seen.
func (w *subjectWatch) subjects() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.counts {
		n += c
	}
	return n
}

// reconcileSeconds sums controller-runtime's reconcile time of both binding
// controllers in this process.
func reconcileSeconds(tb testing.TB) float64 {
	tb.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_time_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && strings.HasPrefix(l.GetValue(), "scim") && strings.HasSuffix(l.GetValue(), "rolebinding") {
					sum += m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return sum
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
