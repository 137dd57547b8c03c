package schema

import (
	"fmt"
	"strings"
)

// Path is a resolved attribute path such as "name.givenName" or
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
type Path struct {
	// URN is the schema the attribute belongs to; empty for common attributes.
	URN string
	// Attr is the top-level attribute.
	Attr *Attribute
	// Sub is the sub-attribute, or nil when the path names Attr itself.
	Sub *Attribute
}

// Extension reports whether the attribute lives under an extension URN key in
// the JSON representation rather than at the top level.
func (p Path) Extension(rt *ResourceType) bool {
	return p.URN != "" && !strings.EqualFold(p.URN, rt.Schema.ID)
}

// Resolve resolves an attribute path (RFC 7644 §3.10) against the resource type.
// Attribute names match case-insensitively; a path may be prefixed with the URN
// of the core schema or of an extension.
func (rt *ResourceType) Resolve(path string) (Path, error) {
	urn, rest := rt.splitURN(path)
	if rest == "" {
		return Path{}, fmt.Errorf("attribute path %q names a schema, not an attribute", path)
	}
	name, subName, _ := strings.Cut(rest, ".")
	if strings.Contains(subName, ".") {
		return Path{}, fmt.Errorf("attribute path %q is nested too deeply", path)
	}
	var attr *Attribute
	switch {
	case urn == "" || strings.EqualFold(urn, rt.Schema.ID):
		if attr = CommonAttr(name); attr != nil {
			urn = ""
		} else if attr = rt.Schema.Attr(name); attr != nil {
			urn = rt.Schema.ID
		}
	default:
		if ext := rt.Extension(urn); ext != nil {
			attr, urn = ext.Attr(name), ext.ID
		}
	}
	if attr == nil {
		return Path{}, fmt.Errorf("unknown attribute %q", path)
	}
	p := Path{URN: urn, Attr: attr}
	if subName != "" {
		if p.Sub = attr.Sub(subName); p.Sub == nil {
			return Path{}, fmt.Errorf("unknown sub-attribute %q", path)
		}
	}
	return p, nil
}

// splitURN separates a schema URN prefix from an attribute path. Only URNs the
// resource type knows are split off, because attribute names never contain ':'.
func (rt *ResourceType) splitURN(path string) (urn, rest string) {
	schemas := append([]*Schema{rt.Schema}, rt.Extensions...)
	for _, s := range schemas {
		if len(path) >= len(s.ID) && strings.EqualFold(path[:len(s.ID)], s.ID) {
			rest = path[len(s.ID):]
			if rest == "" {
				return s.ID, ""
			}
			if rest[0] == ':' {
				return s.ID, rest[1:]
			}
		}
	}
	return "", path
}

// IsSchemaURN reports whether key is the URN of one of rt's extensions, i.e. a key
// under which extension attributes are nested in the JSON representation.
func (rt *ResourceType) IsSchemaURN(key string) bool {
	return rt.Extension(key) != nil
}
