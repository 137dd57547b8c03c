package scimstore

import (
	"context"
	"sync"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// shardLocks queues this replica's writers of one membership shard. Without
// it, concurrent PATCHes of a small group (one shard) would all race for the
// same resourceVersion and most would spend their retries on conflicts; in
// the queue each writes once, starting from what the one before it wrote.
// Writers on other replicas still meet as conflicts, which applyShard
// retries.
type shardLocks struct {
	mu sync.Mutex
	m  map[string]*shardLock
}

// shardLock is one shard's queue; last is the shard as this replica last
// wrote it (nil when unknown or deleted), never modified once stored.
type shardLock struct {
	turn chan struct{}
	refs int
	last *scimv1.ScimMembership
}

// acquire waits for key's turn, or for ctx to end.
func (s *shardLocks) acquire(ctx context.Context, key string) (*shardLock, error) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*shardLock{}
	}
	l := s.m[key]
	if l == nil {
		l = &shardLock{turn: make(chan struct{}, 1)}
		s.m[key] = l
	}
	l.refs++
	s.mu.Unlock()
	select {
	case l.turn <- struct{}{}:
		return l, nil
	case <-ctx.Done():
		s.drop(key, l)
		return nil, ctx.Err()
	}
}

// release ends the turn acquire gave.
func (s *shardLocks) release(key string, l *shardLock) {
	<-l.turn
	s.drop(key, l)
}

func (s *shardLocks) drop(key string, l *shardLock) {
	s.mu.Lock()
	if l.refs--; l.refs == 0 {
		delete(s.m, key)
	}
	s.mu.Unlock()
}
