package patch

import (
	"errors"
	"fmt"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// errorf returns the *scimerr.Error every request error of this package is.
// Details name the operation and attribute at fault but never repeat
// attribute values, which may be personal data.
func errorf(scimType, format string, args ...any) *scimerr.Error {
	return scimerr.New(scimType, format, args...)
}

// attrError reports a problem with one attribute, named canonically from the
// schema so nothing the client sent is echoed.
func attrError(scimType string, attr *schema.Attribute, what string) *scimerr.Error {
	return errorf(scimType, "attribute %q: %s", attr.Name, what)
}

func pathError(scimType string, p schema.Path, what string) *scimerr.Error {
	name := p.Attr.Name
	if p.Sub != nil {
		name += "." + p.Sub.Name
	}
	return errorf(scimType, "attribute %q: %s", name, what)
}

// inOperation prefixes the detail with the operation's index, so a client
// sending many operations learns which one failed.
func inOperation(i int, err error) error {
	var pe *scimerr.Error
	if errors.As(err, &pe) {
		return &scimerr.Error{ScimType: pe.ScimType, Detail: fmt.Sprintf("Operations[%d]: %s", i, pe.Detail)}
	}
	return err
}
