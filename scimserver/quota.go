package scimserver

import (
	"context"
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// checkQuota refuses a create when the endpoint already holds max objects of
// kind (max 0: no quota), counted from the informer cache through the
// endpoint index; objects being deleted do not count, as SCIM no longer
// serves them.
//
// The answer is 403 without a scimType: RFC 7644 §3.12 defines none for a
// quota, the request is well-formed (400 says it is not), and the client may
// not create more however it asks. It is a 4xx, so Okta and Entra ID report a
// failed push to the admin instead of retrying (they retry 429 and 5xx),
// which is what a full endpoint needs: a person raising spec.quota.
func (s *Server) checkQuota(ctx context.Context, req *request, kind client.Object, index string, max int, what string) error {
	if max <= 0 {
		return nil
	}
	items, err := s.store.byIndex(ctx, kind, index, req.ep.Key.Namespace, req.ep.Key.Name)
	if err != nil {
		return err
	}
	n := 0
	for _, item := range items {
		if o, ok := item.(client.Object); ok && o.GetDeletionTimestamp() == nil {
			n++
		}
	}
	if n >= max {
		return errorf(http.StatusForbidden, "", "the endpoint's quota of %d %s is reached (spec.quota of ScimEndpoint %s); delete some or raise the quota",
			max, what, req.ep.Key)
	}
	return nil
}
