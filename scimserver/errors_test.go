package scimserver

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// TestTranslateStoreRefusals holds the one mapping from the Store's refusals
// to SCIM errors: the status, scimType and Retry-After an identity provider
// acts on, and the Store's own (client-safe) message, also when wrapped.
func TestTranslateStoreRefusals(t *testing.T) {
	for _, tc := range []struct {
		reason   error
		status   int
		scimType string
		retry    bool
	}{
		{scimstore.ErrNotFound, http.StatusNotFound, "", false},
		{scimstore.ErrNotUnique, http.StatusConflict, scimUniqueness, false},
		{scimstore.ErrConcurrent, http.StatusConflict, "", false},
		{scimstore.ErrInvalidMember, http.StatusBadRequest, scimInvalidValue, false},
		{scimstore.ErrTooManyMembers, http.StatusBadRequest, scimTooMany, false},
		{scimstore.ErrNotYetKnown, http.StatusServiceUnavailable, "", true},
	} {
		refusal := &scimstore.Error{Reason: tc.reason, Detail: "detail for " + tc.reason.Error()}
		for _, err := range []error{refusal, fmt.Errorf("creating group: %w", refusal)} {
			got := translate(err)
			if got.Status != tc.status || got.ScimType != tc.scimType || got.Detail != refusal.Detail || (got.RetryAfter > 0) != tc.retry {
				t.Errorf("%v: translated to %+v, want %d %q with the Store's detail (Retry-After: %v)", err, got, tc.status, tc.scimType, tc.retry)
			}
		}
	}
	if got := translate(&scimstore.Error{Reason: fmt.Errorf("a reason nobody mapped"), Detail: "secret"}); got.Status != http.StatusInternalServerError || got.Detail == "secret" {
		t.Errorf("an unmapped refusal: %+v, want a 500 that does not show its detail", got)
	}
}
