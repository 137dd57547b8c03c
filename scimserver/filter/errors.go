package filter

import "github.com/scim-operator/scim-operator/scimserver/scimerr"

// errorf returns the *scimerr.Error every error of this package is, so the
// server answers it with 400 and scimType.
func errorf(scimType, format string, args ...any) *scimerr.Error {
	return scimerr.New(scimType, format, args...)
}

// quoteName renders a client-supplied attribute name for an error detail.
func quoteName(name string) string { return scimerr.Name(name) }
