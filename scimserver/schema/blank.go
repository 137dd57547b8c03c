package schema

import "strings"

// blankParents are the complex attributes whose string sub-attributes
// Quirks.BlankSubAttributes reads as unassigned when blank: the ones that
// describe the person. Members, groups, roles and entitlements are not
// among them, nor meta (read-only).
var blankParents = map[*Attribute]bool{
	User.Attr("name"):              true,
	User.Attr("emails"):            true,
	User.Attr("phoneNumbers"):      true,
	User.Attr("ims"):               true,
	User.Attr("photos"):            true,
	User.Attr("addresses"):         true,
	EnterpriseUser.Attr("manager"): true,
}

// blankSubs are the sub-attributes of blankParents.
var blankSubs = func() map[*Attribute]bool {
	subs := map[*Attribute]bool{}
	for parent := range blankParents {
		for _, sub := range parent.SubAttributes {
			subs[sub] = true
		}
	}
	return subs
}()

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// LeftBlank reports whether in, a value of the complex attribute attr as
// the client sent it, carried a blank sub-attribute that
// Quirks.BlankSubAttributes unassigned and out, its coerced form, keeps no
// sub-attribute but the type and primary labels: a value that names
// nothing, as OneLogin's {"value": "", "type": "mobile"} for a user with no
// mobile number. CoerceOne drops such an element of a list; a resource
// body drops such a singular value (name, manager), while a PATCH merges
// its unassigned sub-attributes into the current value.
func LeftBlank(attr *Attribute, in, out map[string]any) bool {
	if !blankParents[attr] {
		return false
	}
	blanked := false
	for k, v := range in {
		if s, ok := v.(string); ok && isBlank(s) && blankSubs[attr.Sub(k)] {
			blanked = true
		}
	}
	if !blanked {
		return false
	}
	for k, v := range out {
		if v != nil && k != "type" && k != "primary" {
			return false
		}
	}
	return true
}
