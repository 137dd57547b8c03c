package operator

import (
	"context"
	"testing"

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
