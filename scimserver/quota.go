package scimserver

import (
	"context"
	"net/http"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// quotaLocks serialises, per endpoint and kind, the quota check and the
// create it admits on this replica (only for endpoints with a quota), so a
// burst of concurrent creates cannot all pass one check.
type quotaLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (q *quotaLocks) lock(key string) func() {
	q.mu.Lock()
	if q.locks == nil {
		q.locks = map[string]*sync.Mutex{}
	}
	l := q.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		q.locks[key] = l
	}
	q.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// createWithinQuota runs create while the endpoint holds fewer than max
// objects of kind (max 0: no quota); the check and the create are one step
// on this replica. A create waits for this replica's cache to show the new
// object, so the next check counts it.
func (s *Server) createWithinQuota(ctx context.Context, req *request, kind client.Object, max int, what string, create func() error) error {
	if max > 0 {
		defer s.quotas.lock(req.ep.Key.String() + "/" + what)()
		if err := s.checkQuota(ctx, req, kind, max, what); err != nil {
			return err
		}
	}
	return create()
}

// checkQuota refuses a create when the endpoint already holds max objects of
// kind, counted from the informer cache. Objects
// being deleted count too: a user held by a finalizer (a tenant database
// down, a hold of the deprovisioning guard) still occupies the cluster, so a
// create-and-delete loop cannot pile them up.
//
// The answer is 403 without a scimType: RFC 7644 §3.12 defines none for a
// quota, the request is well-formed (400 says it is not), and the client may
// not create more however it asks. It is a 4xx, so Okta and Entra ID report a
// failed push to the admin instead of retrying (they retry 429 and 5xx),
// which is what a full endpoint needs: a person raising spec.quota.
func (s *Server) checkQuota(ctx context.Context, req *request, kind client.Object, max int, what string) error {
	if max <= 0 {
		return nil
	}
	n, err := s.store.Count(ctx, req.ep.Key, kind)
	if err != nil {
		return err
	}
	if n >= max {
		return errorf(http.StatusForbidden, "", "the endpoint's quota of %d %s is reached (spec.quota of ScimEndpoint %s); delete some or raise the quota",
			max, what, req.ep.Key)
	}
	return nil
}
