package filter

import (
	"fmt"
	"strings"
)

// SCIM error types (RFC 7644 §3.12) returned by this package.
const (
	// ScimTypeInvalidFilter is reported for a filter that is malformed, too
	// large, or names an attribute or operator the schema does not allow.
	ScimTypeInvalidFilter = "invalidFilter"
	// ScimTypeInvalidPath is reported for a PATCH path or sortBy attribute
	// that is malformed or unknown.
	ScimTypeInvalidPath = "invalidPath"
)

// Error is a filter or path error the server can return to the client as a
// 400 with the given scimType. Detail never contains Go internals or attribute
// values from the request, only attribute names and a description of the
// problem, because it goes straight into the response body.
type Error struct {
	ScimType string
	Detail   string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.ScimType + ": " + e.Detail }

func errorf(scimType, format string, args ...any) *Error {
	return &Error{ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// maxNameEcho bounds how much of a client-supplied attribute name an error
// repeats, so a hostile name cannot blow up the response.
const maxNameEcho = 100

// quoteName renders an attribute name for an error detail. Attribute names are
// restricted by the filter grammar to letters, digits, '-', '_', '.', ':' and
// '$', so they are safe to echo; anything else is replaced.
func quoteName(name string) string {
	if len(name) > maxNameEcho {
		name = name[:maxNameEcho] + "..."
	}
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("-_.:$", r):
			return r
		}
		return '?'
	}, name)
	return `"` + clean + `"`
}
