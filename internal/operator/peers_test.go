package operator

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/scim-operator/scim-operator/internal/kube"
)

// peerPod is a pod of the SCIM Deployment; tree says it carries the
// membership-layout annotation of the shard tree.
func peerPod(name string, tree bool, phase corev1.PodPhase) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "scim-system",
		Labels: map[string]string{"app.kubernetes.io/component": "scim"}}, Status: corev1.PodStatus{Phase: phase}}
	if tree {
		p.Annotations = map[string]string{AnnotationMembershipLayout: MembershipLayoutTree}
	}
	return p
}

// fakePods is controller-runtime's fake client holding objs: these tests
// are of the gate's counting; test/operations runs it against an API server.
func fakePods(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(objs...).Build()
}

// testGate is a gate over a fake API holding objs.
func testGate(objs ...client.Object) *peerGate {
	sel := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/component": "scim"})
	return &peerGate{namespace: "scim-system", selector: sel, client: fakePods(objs...), log: logr.Discard()}
}

// startGate runs a peerGate over a fake API holding objs until the test ends.
func startGate(t *testing.T, objs ...client.Object) *peerGate {
	t.Helper()
	g := testGate(objs...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return g
}

// counted waits until the gate has counted the listed pods once (it logs
// its first answer then).
func counted(t *testing.T, g *peerGate) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) { return g.said.Load() != 0, nil }); err != nil {
		t.Fatal("the gate never counted the pods")
	}
}

// Once the pods are listed, the gate answers from them; until then it keeps
// the legacy layout.
func TestPeerGateAnswersFromThePods(t *testing.T) {
	g := startGate(t, peerPod("new", true, corev1.PodRunning), peerPod("old", false, corev1.PodRunning))
	counted(t, g)
	if !g.Legacy() {
		t.Fatal("an unannotated pod serves, and the gate answers tree")
	}
	tree := startGate(t, peerPod("new-a", true, corev1.PodRunning), peerPod("new-b", true, corev1.PodPending))
	counted(t, tree)
	if tree.Legacy() {
		t.Fatal("every pod is annotated, and the gate answers legacy")
	}
}

// The gate must never answer tree from a count made before the pods were
// listed: between the informer's sync and the first full count, the count
// is the zero value (or one of a partly filled store). Holding the gate's
// lock plays event handlers and the starting goroutine scheduled late.
func TestPeerGateNeverAnswersBeforeItCounted(t *testing.T) {
	g := testGate(peerPod("old", false, corev1.PodRunning))
	g.mu.Lock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// Once the informer has synced (WaitForCacheSync polls every 100 ms),
	// a gate that says it has synced must also have counted the old pod.
	// A gate that only says so after counting stays unsynced while the lock
	// is held: this wait then runs out, which passes.
	_ = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 2*time.Second, true,
		func(context.Context) (bool, error) { return g.synced.Load(), nil })
	legacy := g.Legacy()
	g.mu.Unlock()
	if !legacy {
		t.Fatal("the gate answered tree before it counted the pods, while an older pod serves")
	}
	counted(t, g)
	if !g.Legacy() {
		t.Fatal("an unannotated pod serves, and the gate answers tree")
	}
}

// A pod the kubelet evicted is Failed, and its ReplicaSet creates another
// pod of the same (older) version only after it saw that: a gate that
// stopped counting the Failed pod would answer tree in between, and new
// groups written then get a tree the replacement cannot remove from. An
// older pod counts until it is deleted.
func TestPeerGateCountsFinishedOlderPods(t *testing.T) {
	g := startGate(t, peerPod("new", true, corev1.PodRunning), peerPod("old", false, corev1.PodFailed))
	counted(t, g)
	if !g.Legacy() {
		t.Fatal("an older pod is Failed (its ReplicaSet is about to replace it), and the gate answers tree")
	}
}

// A ReplicaSet of the older version that still wants pods counts even while
// none of its pods exists: a force-deleted pod (or one removed with a lost
// node) is gone before its replacement appears. Scaled to zero at the end
// of a rollout, it no longer counts.
func TestPeerGateCountsOlderReplicaSetsThatWantPods(t *testing.T) {
	rs := func(name string, tree bool, replicas int32) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "scim-system",
			Labels: map[string]string{"app.kubernetes.io/component": "scim"}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &replicas}}
		if tree {
			r.Spec.Template.Annotations = map[string]string{AnnotationMembershipLayout: MembershipLayoutTree}
		}
		return r
	}
	g := startGate(t, peerPod("new", true, corev1.PodRunning), rs("new", true, 2), rs("old", false, 1))
	counted(t, g)
	if !g.Legacy() {
		t.Fatal("an older ReplicaSet wants a pod, and the gate answers tree")
	}
	done := startGate(t, peerPod("new", true, corev1.PodRunning), rs("new", true, 2), rs("old", false, 0))
	counted(t, done)
	if done.Legacy() {
		t.Fatal("the older ReplicaSet is scaled to zero and has no pod, and the gate answers legacy")
	}
}
