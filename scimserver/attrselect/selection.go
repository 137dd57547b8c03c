package attrselect

import (
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// selection is what an attributes or excludedAttributes list says about one
// top-level attribute: all of it, or some of its sub-attributes.
type selection struct {
	all  bool
	subs map[*schema.Attribute]bool
}

// selector maps each named top-level attribute to its selection.
type selector map[*schema.Attribute]*selection

// newSelector resolves a list of attribute names. Entries may be URN-prefixed,
// name a sub-attribute ("name.givenName") or a whole extension schema by its
// URN; names are case-insensitive; unknown names are ignored (RFC 7644 §3.9).
func newSelector(rt *schema.ResourceType, names []string) selector {
	sel := selector{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if ext := rt.Extension(name); ext != nil {
			for _, attr := range ext.Attributes {
				sel.add(attr, nil)
			}
			continue
		}
		if p, err := filter.ResolvePath(rt, name); err == nil {
			sel.add(p.Attr, p.Sub)
		}
	}
	return sel
}

func (s selector) add(attr, sub *schema.Attribute) {
	e := s[attr]
	if e == nil {
		e = &selection{subs: map[*schema.Attribute]bool{}}
		s[attr] = e
	}
	if sub == nil {
		e.all = true
	} else {
		e.subs[sub] = true
	}
}

// has reports whether sub of attr is named, directly or through attr.
func (s selector) has(attr, sub *schema.Attribute) bool {
	e := s[attr]
	return e != nil && (e.all || e.subs[sub])
}
