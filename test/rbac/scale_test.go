package rbac_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestScaleFiftyThousandMembers projects a 50,000-member group: every shard
// stays far below etcd's limit, and adding one member rewrites one shard.
// It takes a few minutes, so it runs with SCIM_SCALE=1 (make test-scale, CI).
func TestScaleFiftyThousandMembers(t *testing.T) {
	if os.Getenv("SCIM_SCALE") == "" {
		t.Skip("set SCIM_SCALE=1 (make test-scale) to run the 50,000-member projection")
	}
	const members = 50000
	ctx := context.Background()
	ep := op.NewEndpoint(t, "rbac-scale", "okta")
	ns := ep.Namespace

	// Seed users and membership shards straight through the API: the SCIM
	// path is measured elsewhere; this test is about the projection.
	seedGroup(t, ns, "big-group", "everyone", members)

	b := bind(t, ns, "everyone", "okta", "everyone", view)
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(b), b)
	testharness.Eventually(t, waitLimit, func() string {
		n := len(subjects(t, string(b.UID), ns))
		return testharness.Unless(n == members, "50,000 subjects projected", fmt.Sprint(n))
	})
	before := owned(t, string(b.UID), ns)
	if len(before) != rolebinding.Shards {
		t.Errorf("%d RoleBindings, want %d shards", len(before), rolebinding.Shards)
	}
	largest := 0
	for _, rb := range before {
		data, _ := json.Marshal(rb)
		largest = max(largest, len(data))
	}
	t.Logf("largest RoleBinding shard: %d bytes", largest)
	if largest > 256<<10 {
		t.Errorf("largest RoleBinding is %d bytes; shards should stay well under 1 MiB", largest)
	}

	// One more member, through SCIM as Okta would add it.
	newcomer := createUser(t, ep, "newcomer@example.com")
	patch(t, ep, "/Groups/big-group", map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": newcomer}}})
	testharness.Eventually(t, waitLimit, func() string {
		n := len(subjects(t, string(b.UID), ns))
		return testharness.Unless(n == members+1, "newcomer projected", fmt.Sprint(n))
	})
	after := owned(t, string(b.UID), ns)
	changed := 0
	for name, rb := range after {
		if before[name] == nil || before[name].ResourceVersion != rb.ResourceVersion {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("adding one member rewrote %d RoleBindings, want 1", changed)
	}
}

func owned(t *testing.T, uid, ns string) map[string]*rbacv1.RoleBinding {
	t.Helper()
	var list rbacv1.RoleBindingList
	if err := op.Client.List(context.Background(), &list, client.InNamespace(ns),
		client.MatchingLabels{rolebinding.LabelBindingUID: uid}); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rbacv1.RoleBinding{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

// parallel runs f(0..n-1) on workers goroutines and fails the test on the first error.
func parallel(t testing.TB, workers, n int, f func(i int) error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d operations failed, first: %v", len(errs), n, errs[0])
	}
}
