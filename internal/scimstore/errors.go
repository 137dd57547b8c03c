package scimstore

import (
	"errors"
	"fmt"
)

// Reasons the Store refuses a request. Every refusal is an *Error that wraps
// one of them (match it with errors.Is) and whose message is safe to show a
// client: it names ids and attributes, never values or internal errors.
// The SCIM server maps each to a status and scimType in one place.
var (
	// ErrNotFound: the resource does not exist at this endpoint (it may be
	// another endpoint's, or being deleted).
	ErrNotFound = errors.New("not found")
	// ErrNotUnique: another resource of the endpoint holds the userName or
	// displayName.
	ErrNotUnique = errors.New("not unique")
	// ErrConcurrent: the resource changed while it was being written; a retry
	// of the same request can succeed.
	ErrConcurrent = errors.New("modified concurrently")
	// ErrInvalidMember: a member id is not a user or group of the endpoint, or
	// adding it would make a group a member of itself.
	ErrInvalidMember = errors.New("invalid member")
	// ErrTooManyMembers: the request names more members than one request may.
	ErrTooManyMembers = errors.New("too many members")
	// ErrNotYetKnown: the request names more ids than the cache knows yet; the
	// same request costs nothing once the cache has caught up.
	ErrNotYetKnown = errors.New("not yet known")
)

// Error is a refusal of the Store: Reason is one of the Err* values above.
type Error struct {
	Reason error
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Unwrap lets errors.Is match the Reason.
func (e *Error) Unwrap() error { return e.Reason }

func refuse(reason error, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

func notFound(resource, id string) *Error {
	return refuse(ErrNotFound, "%s %q not found", resource, id)
}
