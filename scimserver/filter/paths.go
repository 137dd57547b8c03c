package filter

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/scimerr"

	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// ResolvePath resolves an attribute path like (*schema.ResourceType).Resolve
// and, because RFC 7644 §3.10 lets clients omit the URN of an extension
// attribute ("SHOULD fully qualify"), also finds "department" or
// "manager.value" in the resource type's extensions. Core and common
// attributes win on a name clash. Errors are *scimerr.Error with scimType
// invalidPath and never repeat anything but the attribute name.
func ResolvePath(rt *schema.ResourceType, path string) (schema.Path, error) {
	if len(path) > MaxLength {
		return schema.Path{}, pathGrammar.errorf("is longer than %d bytes", MaxLength)
	}
	if p, err := rt.Resolve(path); err == nil {
		return p, nil
	}
	if !strings.Contains(path, ":") {
		for _, ext := range rt.Extensions {
			if p, err := rt.Resolve(ext.ID + ":" + path); err == nil {
				return p, nil
			}
		}
	}
	return schema.Path{}, errorf(scimerr.InvalidPath, "unknown attribute %s", quoteName(path))
}

// Values returns the values of res at the attribute path (RFC 7644 §3.10),
// for sortBy. Multi-valued attributes are flattened. For a multi-valued
// complex attribute named without sub-attribute, RFC 7644 §3.4.2.3 sorts by
// the primary value, so when an element is marked primary only its "value" is
// returned; otherwise every element's "value", in order. Unknown paths are an
// *scimerr.Error with scimType invalidPath.
func Values(rt *schema.ResourceType, res map[string]any, path string) ([]any, error) {
	p, err := ResolvePath(rt, path)
	if err != nil {
		return nil, err
	}
	o := newOperand(rt, p)
	if p.Sub == nil && p.Attr.MultiValued && o.leaf() != p.Attr {
		for _, elem := range o.elements(res) {
			_, primary, _ := schema.Lookup(elem, "primary")
			if b, ok := toBool(primary); ok && b {
				_, v, _ := schema.Lookup(elem, o.leaf().Name)
				return nonNull([]any{v}), nil
			}
		}
	}
	return o.values(res), nil
}
