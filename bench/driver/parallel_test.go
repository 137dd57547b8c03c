package driver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestForEach(t *testing.T) {
	var sum atomic.Int64
	if err := forEach(context.Background(), 1000, 8, func(_ context.Context, i int) error { sum.Add(int64(i)); return nil }); err != nil {
		t.Fatal(err)
	}
	if sum.Load() != 999*1000/2 {
		t.Errorf("sum = %d: not every index ran exactly once", sum.Load())
	}

	boom := errors.New("boom")
	var ran atomic.Int64
	err := forEach(context.Background(), 1000, 4, func(_ context.Context, i int) error {
		ran.Add(1)
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() >= 1000 {
		t.Errorf("after an error: err %v, %d calls; want boom and an early stop", err, ran.Load())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = forEach(ctx, 1_000_000, 2, func(ctx context.Context, _ int) error { time.Sleep(time.Millisecond); return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the deadline: err %v, want DeadlineExceeded", err)
	}
}
