package kube

import (
	"context"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CountingReader counts the reads that pass through it, so a test can show
// how many API calls a request costs (the manager's APIReader goes to the
// API server on every call).
type CountingReader struct {
	client.Reader
	reads atomic.Int64
}

// Get counts and reads.
func (c *CountingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.reads.Add(1)
	return c.Reader.Get(ctx, key, obj, opts...)
}

// List counts and lists.
func (c *CountingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.reads.Add(1)
	return c.Reader.List(ctx, list, opts...)
}

// Reads is the number of reads so far.
func (c *CountingReader) Reads() int64 { return c.reads.Load() }
