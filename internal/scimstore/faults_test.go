package scimstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// The suite runs the Store over a real API server and informer cache; its
// writes go through an interceptor that fails the write a test picks, as an
// API server outage in the middle of a request would.
var (
	cp *controlplane.ControlPlane
	// k8s reads what the API server holds, past every cache.
	k8s client.Client
	// failWrite, when positive, makes the n-th write from now (create,
	// update, patch or delete) fail; writes counts them.
	failWrite, writes atomic.Int64
	store             *scimstore.Store
	// shortLived is a Store whose tombstones live 2 s (id epochs of 1 s),
	// over the same manager.
	shortLived *scimstore.Store
	// keyed has an installation key and the default TTL; forever keeps
	// tombstones for ever (a negative TTL); both over the same manager.
	keyed, forever *scimstore.Store
	manager        ctrl.Manager
)

var errInjected = errors.New("injected: the API server went away")

func TestMain(m *testing.M) {
	os.Exit(testharness.WithControlPlane(func(c *controlplane.ControlPlane) int {
		cp = c
		stop, err := setup(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "setting up the Store:", err)
			return 1
		}
		defer stop()
		return m.Run()
	}))
}

// faulty is the manager's client whose writes fail when failWrite says.
type faulty struct{ client.Client }

func fail() error {
	n := writes.Add(1)
	if f := failWrite.Load(); f > 0 && n == f {
		return errInjected
	}
	return nil
}

func (f faulty) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	if err := fail(); err != nil {
		return err
	}
	return f.Client.Create(ctx, o, opts...)
}

func (f faulty) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	if err := fail(); err != nil {
		return err
	}
	return f.Client.Update(ctx, o, opts...)
}

func (f faulty) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	if err := fail(); err != nil {
		return err
	}
	return f.Client.Patch(ctx, o, p, opts...)
}

func (f faulty) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	if err := fail(); err != nil {
		return err
	}
	return f.Client.Delete(ctx, o, opts...)
}

// failNth makes the n-th write from now fail, once.
func failNth(n int64) { writes.Store(0); failWrite.Store(n) }

func noFaults() { failWrite.Store(0) }

func setup(cp *controlplane.ControlPlane) (func(), error) {
	var err error
	if k8s, err = cp.Client(); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{Scheme: controlplane.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		return nil, err
	}
	if err := scimstore.RegisterIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}
	store = scimstore.New(faulty{mgr.GetClient()}, mgr.GetAPIReader(), mgr.GetCache(), scimstore.Options{MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, errors.New("the cache did not sync")
	}
	if err := store.Follow(ctx); err != nil {
		cancel()
		return nil, err
	}
	shortLived = scimstore.New(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, TombstoneTTL: tombstoneTTL})
	if err := shortLived.Follow(ctx); err != nil {
		cancel()
		return nil, err
	}
	manager = mgr
	keyed = scimstore.New(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, IDKey: []byte("0123456789abcdef0123456789abcdef")})
	forever = scimstore.New(mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, TombstoneTTL: -time.Second})
	for _, s := range []*scimstore.Store{keyed, forever} {
		if err := s.Follow(ctx); err != nil {
			cancel()
			return nil, err
		}
	}
	return func() { cancel(); <-done }, nil
}

func namespace(t *testing.T) types.NamespacedName {
	t.Helper()
	ns := testharness.Namespace(t)
	if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return types.NamespacedName{Namespace: ns, Name: "idp"}
}

func users(t *testing.T, ep types.NamespacedName, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		u, err := store.CreateUser(context.Background(), ep, scimv1.ScimUserSpec{UserName: fmt.Sprintf("user-%02d@example.com", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.Name)
	}
	return ids
}

// live counts the objects of the endpoint the API server holds.
func live(t *testing.T, ep types.NamespacedName, list client.ObjectList) int {
	t.Helper()
	if err := k8s.List(context.Background(), list, client.InNamespace(ep.Namespace)); err != nil {
		t.Fatal(err)
	}
	return len(mustItems(list))
}

func mustItems(list client.ObjectList) []any {
	switch l := list.(type) {
	case *scimv1.ScimGroupList:
		out := make([]any, len(l.Items))
		for i := range l.Items {
			out[i] = l.Items[i]
		}
		return out
	case *scimv1.ScimMembershipList:
		out := make([]any, len(l.Items))
		for i := range l.Items {
			out[i] = l.Items[i]
		}
		return out
	case *scimv1.ScimClaimList:
		out := make([]any, len(l.Items))
		for i := range l.Items {
			out[i] = l.Items[i]
		}
		return out
	}
	panic(fmt.Sprintf("%T", list))
}

// TestCreateGroupFailingMidwayLeavesNothing: a POST /Groups with members
// whose member shards cannot all be written leaves no group and no shard,
// whichever write fails, and the same request then succeeds whole.
func TestCreateGroupFailingMidwayLeavesNothing(t *testing.T) {
	ctx := context.Background()
	ep := namespace(t)
	members := users(t, ep, 40)
	kinds, err := store.MemberKinds(ctx, ep, "", []scimstore.MemberChange{{Kind: scimstore.MemberAdd, IDs: members}})
	if err != nil {
		t.Fatal(err)
	}
	// Write 1 is the group, 2 its one shard, 3 the group's stamp.
	for _, nth := range []int64{2, 3} {
		failNth(nth)
		_, err := store.CreateGroup(ctx, ep, scimv1.ScimGroupSpec{DisplayName: "engineering"}, members, kinds)
		noFaults()
		if !errors.Is(err, errInjected) {
			t.Fatalf("write %d failed: CreateGroup answered %v, want the injected error", nth, err)
		}
		if n := live(t, ep, &scimv1.ScimGroupList{}); n != 0 {
			t.Errorf("write %d failed: %d groups left", nth, n)
		}
		if n := live(t, ep, &scimv1.ScimMembershipList{}); n != 0 {
			t.Errorf("write %d failed: %d membership shards left", nth, n)
		}
	}
	g, err := store.CreateGroup(ctx, ep, scimv1.ScimGroupSpec{DisplayName: "engineering"}, members, kinds)
	if err != nil {
		t.Fatalf("the retried create: %v", err)
	}
	got, err := store.Members(ctx, ep, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(members) {
		t.Errorf("the retried create holds %d members, want %d", len(got), len(members))
	}
}

// TestDeleteUserFailingMidwayConverges: a DELETE /Users/{id} that fails while
// it takes the user out of its groups leaves the user (the request failed),
// and its retry completes: the user is gone from every group and deleted.
func TestDeleteUserFailingMidwayConverges(t *testing.T) {
	ctx := context.Background()
	ep := namespace(t)
	ids := users(t, ep, 1)
	var groups []string
	for i := range 4 {
		kinds := map[string]string{ids[0]: "User"}
		g, err := store.CreateGroup(ctx, ep, scimv1.ScimGroupSpec{DisplayName: fmt.Sprintf("team-%d", i)}, ids, kinds)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g.Name)
	}
	u, err := store.GetUser(ctx, ep, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	failNth(3) // the second group's shard, after the first group's shard and stamp
	err = store.DeleteUser(ctx, ep, u)
	noFaults()
	if !errors.Is(err, errInjected) {
		t.Fatalf("DeleteUser answered %v, want the injected error", err)
	}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: ids[0]}, &scimv1.ScimUser{}); err != nil {
		t.Fatalf("the user of a failed DELETE is gone: %v", err)
	}
	if err := store.DeleteUser(ctx, ep, u); err != nil {
		t.Fatalf("the retried DELETE: %v", err)
	}
	err = k8s.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: ids[0]}, &scimv1.ScimUser{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("after the retried DELETE the user is still there: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, g := range groups {
		for {
			members, err := store.Members(ctx, ep, g)
			if err != nil {
				t.Fatal(err)
			}
			if len(members) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("group %s still holds %v", g, members)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
