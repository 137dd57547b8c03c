package operator

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/scim-operator/scim-operator/internal/kube"
)

// AnnotationMembershipLayout is set on the pods of the SCIM Deployment by
// the chart; MembershipLayoutTree marks a version that reads and removes
// from the membership shard tree (docs/upgrading.md item 20). A pod of the
// Deployment without it runs an older version, which removes a member only
// from the legacy shard <group>-<fnv32a % 32>.
const (
	AnnotationMembershipLayout = "scim.scim-operator.io/membership-layout"
	MembershipLayoutTree       = "tree"
)

// Peers names the pods of the SCIM Deployment: every replica that may
// serve the same IdPs.
type Peers struct {
	// Namespace holds them.
	Namespace string
	// Selector is the Deployment's label selector; empty: no peers are
	// watched, and member writes never keep the legacy layout (one process,
	// local mode, tests).
	Selector string
}

// legacyLayout reports 1 while this replica keeps the legacy membership layout.
var legacyLayout = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "scim_membership_legacy_layout",
	Help: "1 while this SCIM replica writes group members in the legacy 32-shard layout, because a pod of its " +
		"Deployment runs a version before the shard tree (or the pods are not known yet); 0 otherwise.",
})

func init() { metrics.Registry.MustRegister(legacyLayout) }

// peerGate watches the SCIM Deployment's pods and ReplicaSets and answers
// whether a pod of a version before the shard tree may serve. Until its first listing it
// answers yes: keeping the legacy layout is always safe, only slower for
// big groups; writing the tree beside an older replica is not
// (scimstore.Options.LegacyLayout). Every older pod counts until it is
// deleted: a terminating one may still answer requests, and a finished one
// (Failed: evicted by the kubelet) is about to be replaced by its
// ReplicaSet with another pod of the same version, which that ReplicaSet
// creates only after it saw it finish.
type peerGate struct {
	// namespace and selector are Peers', parsed.
	namespace string
	selector  labels.Selector
	// client lists and watches; controller-runtime's, not client-go's
	// typed clientset, which would add 12 MB to the binary for one kind.
	client client.WithWatch
	log    logr.Logger
	// synced is set once the pods were listed and counted (never before
	// older holds that count); older counts the older pods; said is what
	// was last logged (0 nothing, 1 tree, 2 legacy). mu orders the counts,
	// so the last one stands.
	mu     sync.Mutex
	synced atomic.Bool
	older  atomic.Int32
	said   atomic.Int32
}

func newPeerGate(cfg *rest.Config, peers Peers, log logr.Logger) (*peerGate, error) {
	selector, err := labels.Parse(peers.Selector)
	if err != nil {
		return nil, fmt.Errorf("--scim-peer-selector: %w", err)
	}
	if peers.Namespace == "" {
		return nil, fmt.Errorf("--scim-peer-selector needs --scim-peer-namespace")
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		return nil, err
	}
	legacyLayout.Set(1)
	return &peerGate{namespace: peers.Namespace, selector: selector, client: c, log: log}, nil
}

// Legacy reports whether member writes must keep the legacy layout.
func (g *peerGate) Legacy() bool { return !g.synced.Load() || g.older.Load() > 0 }

// NeedLeaderElection is false: every replica writes members.
func (g *peerGate) NeedLeaderElection() bool { return false }

// Start watches the pods and ReplicaSets until ctx ends.
func (g *peerGate) Start(ctx context.Context) error {
	// Only names, annotations and wanted replicas are read.
	pods, err := g.informer(&corev1.PodList{}, &corev1.Pod{}, func(o any) any {
		p := o.(*corev1.Pod)
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace,
			ResourceVersion: p.ResourceVersion, Annotations: p.Annotations}}
	})
	if err != nil {
		return err
	}
	sets, err := g.informer(&appsv1.ReplicaSetList{}, &appsv1.ReplicaSet{}, func(o any) any {
		rs := o.(*appsv1.ReplicaSet)
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: rs.Name, Namespace: rs.Namespace, ResourceVersion: rs.ResourceVersion},
			Spec: appsv1.ReplicaSetSpec{Replicas: rs.Spec.Replicas,
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: rs.Spec.Template.Annotations}}}}
	})
	if err != nil {
		return err
	}
	recount := func(any) { g.recount(pods.GetStore(), sets.GetStore(), false) }
	for _, inf := range []toolscache.SharedIndexInformer{pods, sets} {
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: recount, DeleteFunc: recount, UpdateFunc: func(_, o any) { recount(o) },
		}); err != nil {
			return err
		}
		go inf.RunWithContext(ctx)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), pods.HasSynced, sets.HasSynced) {
		return nil // stopping
	}
	// Counted, then synced: the handlers' counts run on their own
	// goroutines, and may not have seen the whole listing yet.
	g.recount(pods.GetStore(), sets.GetStore(), true)
	<-ctx.Done()
	return nil
}

// informer returns an informer of the peers' objects of list's kind, which
// keeps only what slim returns of each.
func (g *peerGate) informer(list client.ObjectList, obj runtime.Object, slim func(any) any) (toolscache.SharedIndexInformer, error) {
	opts := func(o metav1.ListOptions) *client.ListOptions {
		return &client.ListOptions{Namespace: g.namespace, LabelSelector: g.selector, Limit: o.Limit, Continue: o.Continue, Raw: &o}
	}
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l := list.DeepCopyObject().(client.ObjectList)
			return l, g.client.List(ctx, l, opts(o))
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return g.client.Watch(ctx, list.DeepCopyObject().(client.ObjectList), opts(o))
		},
	}
	inf := toolscache.NewSharedIndexInformer(listFirst(lw), obj, 0, toolscache.Indexers{})
	err := inf.SetTransform(func(o any) (any, error) {
		if _, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
			return o, nil
		}
		return slim(o), nil
	})
	return inf, err
}

// recount counts the older pods, and the ReplicaSets of an older version
// that still want pods, and says so when the answer changes; listed marks
// the count made once the informers have synced, after which Legacy
// answers from the counts. A ReplicaSet counts because a pod of it can be
// gone for a moment while the ReplicaSet is about to replace it: force
// deleted, or removed with a lost node.
func (g *peerGate) recount(pods, sets toolscache.Store, listed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var older []string
	for _, o := range pods.List() {
		if p := o.(*corev1.Pod); p.Annotations[AnnotationMembershipLayout] != MembershipLayoutTree {
			older = append(older, "pod/"+p.Name)
		}
	}
	for _, o := range sets.List() {
		rs := o.(*appsv1.ReplicaSet)
		if rs.Spec.Template.Annotations[AnnotationMembershipLayout] != MembershipLayoutTree &&
			(rs.Spec.Replicas == nil || *rs.Spec.Replicas > 0) {
			older = append(older, "replicaset/"+rs.Name)
		}
	}
	sort.Strings(older)
	g.older.Store(int32(len(older)))
	if listed {
		g.synced.Store(true)
	}
	if !g.synced.Load() {
		return
	}
	if len(older) > 0 {
		legacyLayout.Set(1)
		if g.said.Swap(2) != 2 {
			g.log.Info("pods of an older version serve SCIM, or are wanted: group members are written in the legacy layout until they are gone",
				"older", older, "docs", "docs/upgrading.md")
		}
		return
	}
	legacyLayout.Set(0)
	if g.said.Swap(1) != 1 {
		g.log.Info("every SCIM pod runs the shard tree: group members are written in the tree layout")
	}
}
