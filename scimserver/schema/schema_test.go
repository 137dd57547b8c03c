package schema

import "testing"

// TestReferencesNameTheirTypes: a client reading /Schemas learns from
// referenceTypes what a reference attribute may point to (RFC 7643 §7);
// every attribute of type reference must say it.
func TestReferencesNameTheirTypes(t *testing.T) {
	var walk func(path string, attrs []*Attribute)
	walk = func(path string, attrs []*Attribute) {
		for _, a := range attrs {
			if a.Type == Reference && len(a.ReferenceTypes) == 0 {
				t.Errorf("%s%s is a reference without referenceTypes", path, a.Name)
			}
			walk(path+a.Name+".", a.SubAttributes)
		}
	}
	for _, sc := range All() {
		walk(sc.ID+":", sc.Attributes)
	}
	walk("common:", Common())
}
