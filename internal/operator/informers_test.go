package operator

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
)

// The reflector decides between a watch-list stream and LIST+WATCH by
// asking the ListerWatcher (client-go's util/watchlist); controller-runtime's
// own ListWatch says it supports streams, the manager's informers say not.
func TestListFirstRefusesWatchList(t *testing.T) {
	listed := false
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			listed = true
			return &metav1.List{}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewEmptyWatch(), nil
		},
	}
	if watchlist.DoesClientNotSupportWatchListSemantics(lw) {
		t.Fatal("client-go's ListWatch already refuses watch-lists: listFirst is not needed")
	}
	got := listFirst(lw)
	if !watchlist.DoesClientNotSupportWatchListSemantics(got) {
		t.Error("listFirst(lw) still accepts watch-list semantics")
	}
	withCtx, ok := got.(toolscache.ListerWatcherWithContext)
	if !ok {
		t.Fatal("listFirst(lw) lost the context-aware List and Watch")
	}
	if _, err := withCtx.ListWithContext(context.Background(), metav1.ListOptions{}); err != nil || !listed {
		t.Errorf("ListWithContext did not reach lw (err %v)", err)
	}
}

// The reflector's first LIST asks for pages at resourceVersion "0", which
// the API server answers in one piece; paged informers ask for the latest
// instead, in pages of listPageSize, and leave later pages and lists at a
// given resourceVersion alone. Each page comes back without managed fields.
func TestListFirstPagesTheFirstList(t *testing.T) {
	var got []metav1.ListOptions
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(_ context.Context, o metav1.ListOptions) (runtime.Object, error) {
			got = append(got, o)
			return &corev1.PodList{Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "p",
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "scim-operator"}}}}}}, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewEmptyWatch(), nil
		},
	}
	l := listPaged(lw, listPageSize).(toolscache.ListerWatcherWithContext)
	for _, o := range []metav1.ListOptions{
		{ResourceVersion: "0", Limit: 500},
		{Continue: "next", Limit: 500},
		{ResourceVersion: "42"},
	} {
		list, err := l.ListWithContext(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if mf := list.(*corev1.PodList).Items[0].ManagedFields; mf != nil {
			t.Errorf("a page kept its managed fields: %v", mf)
		}
	}
	want := []metav1.ListOptions{
		{ResourceVersion: "", Limit: listPageSize},
		{Continue: "next", Limit: 500},
		{ResourceVersion: "42"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options sent (-want +got):\n%s", diff)
	}
	// Without pages, the first LIST is left as the reflector asks.
	got = nil
	if _, err := listFirst(lw).(toolscache.ListerWatcherWithContext).ListWithContext(context.Background(),
		metav1.ListOptions{ResourceVersion: "0", Limit: 500}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]metav1.ListOptions{{ResourceVersion: "0", Limit: 500}}, got); diff != "" {
		t.Errorf("options sent without pages (-want +got):\n%s", diff)
	}
}
