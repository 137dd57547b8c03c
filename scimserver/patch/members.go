package patch

import (
	"encoding/json"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// MemberOpKind is what a MemberOp does to a group's membership.
type MemberOpKind int

// Kinds of membership change.
const (
	// MemberAdd adds the listed members (already present ones stay).
	MemberAdd MemberOpKind = iota + 1
	// MemberRemove removes the listed members (absent ones are ignored).
	MemberRemove
	// MemberReplace makes the listed members the whole membership.
	MemberReplace
	// MemberRemoveAll removes every member.
	MemberRemoveAll
)

// String returns the kind's name, for logs and test failures.
func (k MemberOpKind) String() string {
	switch k {
	case MemberAdd:
		return "Add"
	case MemberRemove:
		return "Remove"
	case MemberReplace:
		return "Replace"
	case MemberRemoveAll:
		return "RemoveAll"
	}
	return "MemberOpKind(?)"
}

// MemberOp is one membership change extracted from a PATCH request. Groups
// with 100,000 members are stored outside the group object, so membership
// changes are applied as set operations on ids rather than on a member list.
type MemberOp struct {
	Kind MemberOpKind
	// Values are the member ids in request order, without duplicates.
	Values []string
}

// SplitMembers separates the operations that touch rt's "members" attribute
// from the others, in request order: a path "members", "members[...]", or a
// "members" key inside a no-path add or replace value (the remaining keys of
// that value stay in rest as a no-path operation). rest is to be passed to
// Apply on the group without its members. A filtered remove must be
// `members[value eq "id"]` or an "or" of such; any other filter is
// invalidFilter, and add or replace with a filter or a sub-attribute is
// invalidPath. For a resource type without "members", every operation is rest.
func SplitMembers(rt *schema.ResourceType, ops []Operation, opts Options) (members []MemberOp, rest []Operation, err error) {
	attr := rt.Schema.Attr("members")
	if attr == nil || !attr.MultiValued {
		return nil, ops, nil
	}
	for i, op := range ops {
		var m []MemberOp
		var r *Operation
		switch {
		case op.Path == "" && op.Op != OpRemove:
			m, r, err = splitValue(rt, attr, op, opts)
		case op.Path == "" || rt.Extension(op.Path) != nil:
			r = &op
		default:
			m, r, err = splitPath(rt, attr, op, opts)
		}
		if err != nil {
			return nil, nil, inOperation(i, err)
		}
		members = append(members, m...)
		if r != nil {
			rest = append(rest, *r)
		}
	}
	return members, rest, nil
}

func splitPath(rt *schema.ResourceType, attr *schema.Attribute, op Operation, opts Options) ([]MemberOp, *Operation, error) {
	vp, err := filter.ParseValuePath(rt, op.Path)
	if err != nil {
		return nil, nil, err
	}
	if vp.Path.Attr != attr {
		return nil, &op, nil
	}
	value, has, err := decodeValue(op.Value)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case vp.Path.Sub != nil:
		return nil, nil, errorf(scimerr.InvalidPath, "attribute \"members\": change whole members, not their sub-attributes")
	case vp.Filter != nil && op.Op != OpRemove:
		return nil, nil, errorf(scimerr.InvalidPath, "attribute \"members\": %s does not take a value filter", op.Op)
	case vp.Filter != nil:
		ids, ok := vp.Filter.OneOf("value")
		if !ok {
			return nil, nil, errorf(scimerr.InvalidFilter,
				`attribute "members": a remove filter must be value eq "<id>", optionally joined with or`)
		}
		return []MemberOp{{Kind: MemberRemove, Values: dedupe(ids)}}, nil, nil
	case op.Op != OpRemove && !has:
		return nil, nil, errorf(scimerr.InvalidValue, "%s needs a value", op.Op)
	case op.Op == OpRemove && value == nil:
		return []MemberOp{{Kind: MemberRemoveAll}}, nil, nil
	case op.Op == OpRemove && !opts.Quirks.RemoveWithValue:
		return nil, nil, removeValueError(attr)
	}
	return memberOp(attr, op.Op, value, opts)
}

// splitValue takes the "members" key out of a no-path add or replace value.
func splitValue(rt *schema.ResourceType, attr *schema.Attribute, op Operation, opts Options) ([]MemberOp, *Operation, error) {
	value, has, err := decodeValue(op.Value)
	obj, ok := value.(map[string]any)
	if err != nil || !has || !ok {
		return nil, &op, nil // Apply reports the malformed value.
	}
	var members []MemberOp
	for _, k := range sortedKeys(obj) {
		p, err := filter.ResolvePath(rt, k)
		if err != nil || p.Attr != attr {
			continue
		}
		if p.Sub != nil {
			return nil, nil, errorf(scimerr.InvalidPath, "attribute \"members\": change whole members, not their sub-attributes")
		}
		m, _, err := memberOp(attr, op.Op, obj[k], opts)
		if err != nil {
			return nil, nil, err
		}
		members = append(members, m...)
		delete(obj, k)
	}
	if members == nil {
		return nil, &op, nil
	}
	if len(obj) == 0 {
		return members, nil, nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, errorf(scimerr.InvalidValue, "value cannot be re-encoded")
	}
	return members, &Operation{Op: op.Op, Value: raw}, nil
}

// memberOp turns an add, replace or remove with a list of members into a
// MemberOp. An add of null or [] changes nothing; a replace with them
// empties the group.
func memberOp(attr *schema.Attribute, op string, value any, opts Options) ([]MemberOp, *Operation, error) {
	ids, err := memberIDs(attr, value, opts)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case op == OpReplace:
		return []MemberOp{{Kind: MemberReplace, Values: ids}}, nil, nil
	case len(ids) == 0:
		return nil, nil, nil
	case op == OpAdd:
		return []MemberOp{{Kind: MemberAdd, Values: ids}}, nil, nil
	}
	return []MemberOp{{Kind: MemberRemove, Values: ids}}, nil, nil
}

// memberIDs reads [{"value": "<id>", ...}, ...], type-checked by
// schema.Coerce like any other value. Other sub-attributes (display, $ref,
// type) are ignored; the server derives them from the id.
func memberIDs(attr *schema.Attribute, value any, opts Options) ([]string, error) {
	c, err := schema.Coerce(attr, value, opts.Quirks)
	if err != nil {
		return nil, err
	}
	list, _ := c.([]any)
	ids := make([]string, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		id, _ := m["value"].(string)
		if id == "" {
			return nil, errorf(scimerr.InvalidValue, `attribute "members": every member needs a string "value"`)
		}
		ids = append(ids, id)
	}
	return dedupe(ids), nil
}

// dedupe drops repeated ids, keeping the first; an empty result is nil.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
