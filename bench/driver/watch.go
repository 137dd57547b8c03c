package driver

import (
	"context"
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// rbWatch is the driver's own informer on the RoleBindings the operator owns
// in one namespace: checking a projection then costs no API call, and a
// check runs on every change the API server reports, so latencies are
// measured to the event, not to a polling tick.
type rbWatch struct {
	cache   cache.Cache
	stop    context.CancelFunc
	changed chan struct{}
}

// watchRoleBindings starts the informer and waits for its first list.
func watchRoleBindings(ctx context.Context, cl *Cluster, ns string) (*rbWatch, error) {
	owned := labels.SelectorFromSet(labels.Set{scimv1.LabelManagedBy: scimv1.ManagedByValue})
	c, err := cache.New(cl.CP.Config, cache.Options{Scheme: controlplane.Scheme(),
		DefaultNamespaces: map[string]cache.Config{ns: {}}, DefaultLabelSelector: owned})
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.Background())
	w := &rbWatch{cache: c, stop: stop, changed: make(chan struct{}, 1)}
	inf, err := c.GetInformer(wctx, &rbacv1.RoleBinding{})
	if err != nil {
		stop()
		return nil, err
	}
	poke := func(any) {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: poke,
		UpdateFunc: func(_, n any) { poke(n) }, DeleteFunc: poke}); err != nil {
		stop()
		return nil, err
	}
	go func() { _ = c.Start(wctx) }()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !c.WaitForCacheSync(sctx) {
		stop()
		return nil, fmt.Errorf("RoleBinding informer of %s did not sync", ns)
	}
	return w, nil
}

func (w *rbWatch) close() { w.stop() }

// each calls fn with each owned RoleBinding and the name of the
// ScimRoleBinding it projects. The RoleBindings are the cache's own: fn
// must not modify them.
func (w *rbWatch) each(fn func(binding string, rb *rbacv1.RoleBinding)) {
	var list rbacv1.RoleBindingList
	if err := w.cache.List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	for i := range list.Items {
		rb := &list.Items[i]
		ref := rb.Annotations[rolebinding.AnnotationBinding] // <kind>/<namespace>/<name>
		fn(ref[strings.LastIndexByte(ref, '/')+1:], rb)
	}
}

// count returns the number of owned RoleBindings.
func (w *rbWatch) count() int {
	n := 0
	w.each(func(string, *rbacv1.RoleBinding) { n++ })
	return n
}

// match counts, over every owned RoleBinding, the subjects that want lists
// for its binding and those it does not (want: binding → subject names).
func (w *rbWatch) match(want map[string]map[string]bool) (matched, extra int) {
	w.each(func(binding string, rb *rbacv1.RoleBinding) {
		for _, s := range rb.Subjects {
			if want[binding][s.Name] {
				matched++
			} else {
				extra++
			}
		}
	})
	return matched, extra
}

// grants reports whether subject is in any RoleBinding of the given bindings
// (all bindings when nil).
func (w *rbWatch) grants(bindings map[string]bool, subject string) bool {
	found := false
	w.each(func(binding string, rb *rbacv1.RoleBinding) {
		if found || (bindings != nil && !bindings[binding]) {
			return
		}
		for _, s := range rb.Subjects {
			if s.Name == subject {
				found = true
				return
			}
		}
	})
	return found
}

// until returns once cond holds, checking it after every RoleBinding change
// and at least every tick, or fails after limit.
func (w *rbWatch) until(ctx context.Context, limit, tick time.Duration, cond func() bool) error {
	return w.poll(ctx, limit, tick, true, cond)
}

// every is until without the checks on change: for conditions too costly to
// evaluate on each of many events, such as a whole initial sync.
func (w *rbWatch) every(ctx context.Context, limit, tick time.Duration, cond func() bool) error {
	return w.poll(ctx, limit, tick, false, cond)
}

func (w *rbWatch) poll(ctx context.Context, limit, tick time.Duration, onChange bool, cond func() bool) error {
	changed := w.changed
	if !onChange {
		changed = nil
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(tick)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("RoleBindings not as expected within %s", limit)
		case <-changed:
		case <-t.C:
		}
	}
	return nil
}
