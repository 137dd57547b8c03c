package scimserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// scimType values of RFC 7644 §3.12.
const (
	scimInvalidFilter = "invalidFilter"
	scimTooMany       = "tooMany"
	scimUniqueness    = "uniqueness"
	scimMutability    = "mutability"
	scimInvalidSyntax = "invalidSyntax"
	scimInvalidPath   = "invalidPath"
	scimNoTarget      = "noTarget"
	scimInvalidValue  = "invalidValue"
	scimInvalidVers   = "invalidVers"
)

// Error is a SCIM error response (RFC 7644 §3.12). Its Detail is always safe
// to show a client: it never carries internal errors, tokens or attribute values.
type Error struct {
	Status     int
	ScimType   string
	Detail     string
	RetryAfter int // seconds; sets Retry-After when > 0
	// Allow lists the methods the resource supports; a 405 carries it
	// (RFC 9110 §15.5.6).
	Allow string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.ScimType, e.Detail) }

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// methodNotAllowed refuses a method a Users or Groups URL does not serve
// (collection when id is ""), naming those it does.
func methodNotAllowed(method, id string) *Error {
	e := errorf(http.StatusMethodNotAllowed, "", "method %s is not allowed here", method)
	e.Allow = "GET, PUT, PATCH, DELETE"
	if id == "" {
		e.Allow = "GET, POST"
	}
	return e
}

func notFound(resource, id string) *Error {
	return errorf(http.StatusNotFound, "", "%s %q not found", resource, id)
}

// body renders the Error schema; status is a string as RFC 7644 requires.
func (e *Error) body() map[string]any {
	b := map[string]any{
		"schemas": []string{schema.ErrorURN},
		"status":  strconv.Itoa(e.Status),
		"detail":  e.Detail,
	}
	if e.ScimType != "" {
		b["scimType"] = e.ScimType
	}
	return b
}

// translate maps any error from the layers below into a SCIM Error. It is the
// one place where Kubernetes API errors become client-visible responses; an
// error it does not recognise becomes a generic 500 without its text.
func translate(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var refused *scimstore.Error
	if errors.As(err, &refused) {
		return storeError(refused)
	}
	var re *scimerr.Error
	if errors.As(err, &re) {
		return errorf(http.StatusBadRequest, re.ScimType, "%s", re.Detail)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Error{Status: http.StatusServiceUnavailable, Detail: "the request timed out; retry later", RetryAfter: 5}
	case apierrors.IsNotFound(err):
		return errorf(http.StatusNotFound, "", "resource not found")
	case apierrors.IsAlreadyExists(err):
		return errorf(http.StatusConflict, scimUniqueness, "the resource already exists")
	case apierrors.IsConflict(err):
		return errorf(http.StatusConflict, "", "the resource was modified concurrently; retry")
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return errorf(http.StatusBadRequest, scimInvalidValue, "%s", invalidDetail(err))
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
		// A ResourceQuota on count/scimusers... of the endpoint's namespace:
		// like spec.quota, a limit a person must raise.
		return errorf(http.StatusForbidden, "", "the namespace's ResourceQuota allows no more resources; delete some or raise it")
	case apierrors.IsRequestEntityTooLargeError(err):
		return errorf(http.StatusRequestEntityTooLarge, "", "the resource is too large")
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err), isConnectionError(err):
		retry := 5
		if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 {
			retry = s
		}
		return &Error{Status: http.StatusServiceUnavailable, Detail: "the identity store is temporarily unavailable; retry later", RetryAfter: retry}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error"}
}

// storeError maps a refusal of the Store to its SCIM error; the Store's
// message is safe to show the client.
func storeError(e *scimstore.Error) *Error {
	switch {
	case errors.Is(e, scimstore.ErrNotFound):
		return errorf(http.StatusNotFound, "", "%s", e.Detail)
	case errors.Is(e, scimstore.ErrNotUnique):
		return errorf(http.StatusConflict, scimUniqueness, "%s", e.Detail)
	case errors.Is(e, scimstore.ErrConcurrent):
		return errorf(http.StatusConflict, "", "%s", e.Detail)
	case errors.Is(e, scimstore.ErrInvalidMember):
		return errorf(http.StatusBadRequest, scimInvalidValue, "%s", e.Detail)
	case errors.Is(e, scimstore.ErrTooManyMembers):
		return errorf(http.StatusBadRequest, scimTooMany, "%s", e.Detail)
	case errors.Is(e, scimstore.ErrNotYetKnown):
		return &Error{Status: http.StatusServiceUnavailable, Detail: e.Detail, RetryAfter: 5}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error"}
}

// invalidDetail lists the attributes the API server rejected, without their
// values, named as SCIM names them: the CR's "spec." prefix is dropped, and
// causes without a field (such as "<nil>" for skipped CEL rules) are left out.
func invalidDetail(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil {
			var fields []string
			for _, c := range d.Causes {
				f := strings.TrimPrefix(c.Field, "spec.")
				if f == "" || f == "<nil>" || f == "spec" || slices.Contains(fields, f) {
					continue
				}
				fields = append(fields, f)
			}
			if len(fields) > 0 {
				return "invalid value for " + strings.Join(fields, ", ")
			}
		}
	}
	return "invalid attribute value"
}

// isConnectionError reports errors of a client that cannot reach the API server.
func isConnectionError(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	var netErr interface{ Timeout() bool }
	return errors.As(err, &netErr) || errors.Is(err, errConnRefused)
}

// errConnRefused is what a client sees while kube-apiserver is down.
var errConnRefused = syscall.ECONNREFUSED

// fail renders err as a SCIM Error. The cause of a 500 — an error translate
// does not recognise, whose text the client never sees — is logged at error
// level with the request's endpoint, method and resource, never attribute
// values.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	e := translate(err)
	if e.Status == http.StatusInternalServerError {
		s.log.Error(err, "internal error answering a SCIM request",
			"endpoint", req.ep.Key.String(), "method", r.Method, "resource", req.resource, "id", req.id)
	}
	writeError(w, e)
}
