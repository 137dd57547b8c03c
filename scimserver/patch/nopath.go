package patch

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// noPath performs add or replace without a path: value is an object whose
// keys name the attributes to set (RFC 7644 §3.5.2.1, §3.5.2.3). Keys are
// applied in sorted order so "name" comes before "name.givenName".
// Read-only and writeOnly attributes in it are skipped silently. Keys that
// are paths ("name.givenName", "urn:...:enterprise:2.0:User:department") need
// Quirks.AttributePathKeys, unknown keys Quirks.IgnoreUnknownAttributes.
func (a *applier) noPath(op string, value any) error {
	obj, ok := value.(map[string]any)
	if !ok {
		return errorf(scimerr.InvalidValue, "%s without path needs an object value", op)
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if ext := a.rt.Extension(k); ext != nil {
			if err := a.noPathExtension(op, ext, v); err != nil {
				return err
			}
			continue
		}
		if !a.opts.Quirks.AttributePathKeys && strings.ContainsAny(k, ".:") {
			return errorf(scimerr.InvalidValue, "%s without path: value keys must be attribute names", op)
		}
		if err := a.implicit(op, k, v); err != nil {
			return err
		}
	}
	return nil
}

// noPathExtension applies the attributes of an extension object given in a
// no-path value; null under replace clears the extension.
func (a *applier) noPathExtension(op string, ext *schema.Schema, v any) error {
	sub, ok := v.(map[string]any)
	switch {
	case v == nil && op == OpReplace:
		schema.Delete(a.res, ext.ID)
		a.removeSchema(ext.ID)
		return nil
	case v == nil:
		return nil
	case !ok:
		return errorf(scimerr.InvalidValue, "schema extension %q: expected an object", ext.ID)
	}
	for _, k := range sortedKeys(sub) {
		if err := a.implicit(op, ext.ID+":"+k, sub[k]); err != nil {
			return err
		}
	}
	return nil
}

// implicit sets one attribute named by a key of a no-path value.
func (a *applier) implicit(op, key string, v any) error {
	p, err := filter.ResolvePath(a.rt, key)
	if err != nil {
		if !a.opts.Quirks.IgnoreUnknownAttributes {
			return errorf(scimerr.InvalidValue, "%s without path: value names unknown attribute %s", op, scimerr.Name(key))
		}
		return nil
	}
	if skip, err := a.writable(op, p, false); err != nil || skip {
		return err
	}
	return a.write(op, p, nil, v)
}
