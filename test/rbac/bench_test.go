package rbac_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// BenchmarkDeprovisioning measures, with 10,000 users and 100 bindings (10
// groups of 1,000 users, each bound 10 times), the time from the SCIM
// response of an Okta deactivation PATCH until the user is a subject of no
// RoleBinding, over 200 deactivations. It reports p50 and p99 in ms.
func BenchmarkDeprovisioning(b *testing.B) {
	const (
		users, groups, bindingsPerGroup, deactivations = 10000, 10, 10, 200
	)
	ctx := context.Background()
	ep := op.NewEndpoint(b, "rbac-bench", "okta")
	ns := ep.Namespace
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%05d", i)
	}
	parallel(b, 32, users, func(i int) error {
		return op.Client.Create(ctx, &scimv1.ScimUser{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ids[i], Labels: map[string]string{scimv1.LabelEndpoint: "okta"}},
			Spec:       scimv1.ScimUserSpec{Endpoint: "okta", UserName: ids[i] + "@example.com", Active: true},
		})
	})
	for g := 0; g < groups; g++ {
		name := fmt.Sprintf("group-%d", g)
		if err := op.Client.Create(ctx, &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{scimv1.LabelEndpoint: "okta"}},
			Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: name}}); err != nil {
			b.Fatal(err)
		}
		var ms []scimv1.Member
		for i := g; i < users; i += groups {
			ms = append(ms, scimv1.Member{Value: ids[i], Type: "User"})
		}
		for _, sh := range scimstore.LayoutShards(name, ms) {
			sh.Namespace = ns
			sh.Labels = map[string]string{scimv1.LabelEndpoint: "okta", scimv1.LabelGroup: name}
			if err := op.Client.Create(ctx, sh); err != nil {
				b.Fatal(err)
			}
		}
		for j := 0; j < bindingsPerGroup; j++ {
			bind(b, ns, fmt.Sprintf("%s-b%d", name, j), "okta", name, view)
		}
	}

	// Watch RoleBindings through an informer, so checking costs no API call.
	rbCache, err := cache.New(op.CP.Config, cache.Options{Scheme: controlplane.Scheme(),
		DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := rbCache.GetInformer(cctx, &rbacv1.RoleBinding{}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = rbCache.Start(cctx) }()
	rbCache.WaitForCacheSync(cctx)
	granted := func(subject string) (int, int) {
		var list rbacv1.RoleBindingList
		_ = rbCache.List(cctx, &list, client.InNamespace(ns), client.UnsafeDisableDeepCopy)
		holders := 0
		for _, rb := range list.Items {
			for _, s := range rb.Subjects {
				if s.Name == subject {
					holders++
					break
				}
			}
		}
		return holders, len(list.Items)
	}
	waitUntil(b, 10*time.Minute, "all 100 bindings projected", func() bool {
		h, n := granted(ids[0] + "@example.com")
		return n == groups*bindingsPerGroup && h == bindingsPerGroup
	})

	b.ResetTimer()
	latencies := make([]time.Duration, 0, deactivations)
	for i := 0; i < deactivations; i++ {
		id := ids[i*users/deactivations]
		resp := ep.Do(b, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{patchURN},
			"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}})
		start := time.Now()
		if resp.Status != http.StatusOK {
			b.Fatalf("PATCH: %d %s", resp.Status, resp.Body)
		}
		waitUntil(b, 30*time.Second, "subject removed", func() bool { h, _ := granted(id + "@example.com"); return h == 0 })
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
	b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
	b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
}

// waitUntil polls cond every 5 ms: finer polling would measure no better
// (the target is 1 s) and would take CPU from the operator under test, as
// each poll scans 100,000 subjects.
func waitUntil(b *testing.B, limit time.Duration, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
