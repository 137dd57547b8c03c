package patch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// SCIM error types (RFC 7644 §3.12) returned by this package.
const (
	ScimTypeInvalidSyntax = "invalidSyntax"
	ScimTypeInvalidPath   = "invalidPath"
	ScimTypeInvalidFilter = "invalidFilter"
	ScimTypeInvalidValue  = "invalidValue"
	ScimTypeNoTarget      = "noTarget"
	ScimTypeMutability    = "mutability"
)

// Error is a PATCH request error the server returns to the client as a 400
// with the given scimType. Detail names the operation and attribute at fault
// but never repeats attribute values, which may be personal data.
type Error struct {
	ScimType string
	Detail   string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.ScimType + ": " + e.Detail }

func errorf(scimType, format string, args ...any) *Error {
	return &Error{ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// attrError reports a problem with one attribute, named canonically from the
// schema so nothing the client sent is echoed.
func attrError(scimType string, attr *schema.Attribute, what string) *Error {
	return errorf(scimType, "attribute %q: %s", attr.Name, what)
}

func pathError(scimType string, p schema.Path, what string) *Error {
	name := p.Attr.Name
	if p.Sub != nil {
		name += "." + p.Sub.Name
	}
	return errorf(scimType, "attribute %q: %s", name, what)
}

// inOperation prefixes the detail with the operation's index, so a client
// sending many operations learns which one failed. Filter errors keep their
// scimType.
func inOperation(i int, err error) error {
	var fe *filter.Error
	if errors.As(err, &fe) {
		err = &Error{ScimType: fe.ScimType, Detail: fe.Detail}
	}
	var pe *Error
	if errors.As(err, &pe) {
		return &Error{ScimType: pe.ScimType, Detail: fmt.Sprintf("Operations[%d]: %s", i, pe.Detail)}
	}
	return err
}

// safeName renders a client-supplied attribute name for an error detail when
// it looks like one (letters, digits and -_.:$, at most 100 bytes); anything
// else might be data and is not repeated.
func safeName(name string) string {
	if len(name) == 0 || len(name) > 100 {
		return "(name omitted)"
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:$", r)
		if !ok {
			return "(name omitted)"
		}
	}
	return strconv.Quote(name)
}
