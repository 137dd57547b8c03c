// Package scimerr holds the one error type that the SCIM protocol packages
// (filter, patch, schema coercion) and request parsing return for a request
// the client got wrong. The server answers every such error with 400 and its
// scimType (RFC 7644 §3.12); see docs/compatibility.md for which malformed
// values are still accepted.
package scimerr

import (
	"fmt"
	"strconv"
	"strings"
)

// scimType values (RFC 7644 §3.12) that a request error can carry.
const (
	InvalidFilter = "invalidFilter"
	InvalidPath   = "invalidPath"
	InvalidSyntax = "invalidSyntax"
	InvalidValue  = "invalidValue"
	NoTarget      = "noTarget"
	Mutability    = "mutability"
)

// Error is a request error the server returns to the client as a 400 with
// the given scimType. Detail goes straight into the response body, so it
// names attributes and operations but never repeats attribute values, which
// may be personal data, nor Go internals.
type Error struct {
	ScimType string
	Detail   string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.ScimType + ": " + e.Detail }

// New returns an Error whose detail is format applied to args. Client-sent
// names among args go through Name first.
func New(scimType, format string, args ...any) *Error {
	return &Error{ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// maxNameEcho bounds how much of a client-supplied attribute name an error
// repeats, so a hostile name cannot blow up the response.
const maxNameEcho = 100

// Name renders a client-supplied attribute name for an error detail. A name
// made only of the characters SCIM attribute paths use (letters, digits and
// -_.:$) is quoted, cut to 100 bytes; anything else might be data the client
// put where a name belongs and is not repeated.
func Name(name string) string {
	if name == "" {
		return "(name omitted)"
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:$", r)
		if !ok {
			return "(name omitted)"
		}
	}
	if len(name) > maxNameEcho {
		name = name[:maxNameEcho] + "..."
	}
	return strconv.Quote(name)
}
