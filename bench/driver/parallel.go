package driver

import (
	"context"
	"sync"
	"sync/atomic"
)

// forEach calls fn(i) for every i in [0, n) on workers goroutines, as an
// IdP's provisioning workers take the next task when done. It stops handing
// out work at the first error or when ctx ends, and returns that error; the
// load is so bounded both in count (n) and in time (ctx).
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if next.Load() < int64(n) || ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}
