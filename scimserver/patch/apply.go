package patch

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Options selects how closely Apply follows RFC 7644. They are set per
// endpoint (ScimEndpoint compatibility mode), never process-wide.
type Options struct {
	// Quirks are the identity-provider deviations accepted beyond the RFC
	// (schema.Lenient or schema.Strict); the zero value accepts none.
	Quirks schema.Quirks
}

// Apply applies ops to res in order. It mutates res in place, and only when
// every operation succeeded: the operations run on a deep copy that replaces
// the contents of res at the end, so a failed request leaves the resource
// untouched (RFC 7644 §3.5.2: PATCH is atomic). res must not be nil.
//
// Whatever the operations say, the result never holds a writeOnly attribute
// (password), read-only attributes (id, meta, groups) are never assigned
// from a no-path value, and at most one element of a multi-valued attribute
// is primary (the last one, RFC 7643 §2.4). Errors are *Error.
func Apply(rt *schema.ResourceType, res map[string]any, ops []Operation, opts Options) error {
	if res == nil {
		return errors.New("patch: Apply needs a non-nil resource")
	}
	a := &applier{rt: rt, opts: opts, res: schema.DeepCopy(res).(map[string]any)}
	for i, op := range ops {
		if err := a.apply(op); err != nil {
			return inOperation(i, err)
		}
	}
	a.finish()
	clear(res)
	maps.Copy(res, a.res)
	return nil
}

// applier holds the working copy of one Apply call.
type applier struct {
	rt   *schema.ResourceType
	opts Options
	res  map[string]any
}

func (a *applier) apply(op Operation) error {
	value, hasValue, err := decodeValue(op.Value)
	if err != nil {
		return err
	}
	if op.Op != OpRemove && !hasValue {
		return errorf(scimerr.InvalidValue, "%s needs a value", op.Op)
	}
	if op.Path == "" {
		if op.Op == OpRemove {
			return errorf(scimerr.NoTarget, "remove needs a path")
		}
		return a.noPath(op.Op, value)
	}
	if ext := a.rt.Extension(op.Path); ext != nil {
		return a.extension(op.Op, ext, value)
	}
	vp, err := filter.ParseValuePath(a.rt, op.Path)
	if err != nil {
		return err
	}
	skip, err := a.writable(op.Op, vp.Path, true)
	if err != nil || skip {
		return err
	}
	if op.Op == OpRemove {
		return a.remove(vp.Path, vp.Filter, value)
	}
	return a.write(op.Op, vp.Path, vp.Filter, value)
}

func decodeValue(raw json.RawMessage) (value any, has bool, err error) {
	if raw == nil {
		return nil, false, nil
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return nil, false, errorf(scimerr.InvalidSyntax, "value is not valid JSON")
	}
	return value, true, nil
}

// writable decides whether an operation may touch p. writeOnly attributes
// (password) are dropped silently everywhere. readOnly ones are an error when
// the client named them in a path and skipped when they came inside a
// no-path value (Okta sends the group id along with a rename).
func (a *applier) writable(op string, p schema.Path, explicit bool) (skip bool, err error) {
	for _, attr := range []*schema.Attribute{p.Attr, p.Sub} {
		switch {
		case attr == nil:
		case attr.Mutability == schema.WriteOnly:
			return true, nil
		case attr.Mutability == schema.ReadOnly && explicit:
			return false, pathError(scimerr.Mutability, p, "is read-only")
		case attr.Mutability == schema.ReadOnly:
			return true, nil
		case attr.Mutability == schema.Immutable && explicit && op != OpAdd && attr == p.Sub:
			return false, pathError(scimerr.Mutability, p, "is immutable; "+op+" the whole element instead")
		}
	}
	return false, nil
}

// extension handles a path that names an extension schema itself: add and
// replace apply the value's attributes, remove drops the whole extension.
func (a *applier) extension(op string, ext *schema.Schema, value any) error {
	if op == OpRemove {
		schema.Delete(a.res, ext.ID)
		a.removeSchema(ext.ID)
		return nil
	}
	return a.noPath(op, map[string]any{ext.ID: value})
}

// finish enforces the invariants that hold after every PATCH.
func (a *applier) finish() {
	attrs := append(schema.Common(), a.rt.Schema.Attributes...)
	for _, attr := range attrs {
		a.finishAttr(a.res, attr)
	}
	for _, ext := range a.rt.Extensions {
		_, v, _ := schema.Lookup(a.res, ext.ID)
		if m, ok := v.(map[string]any); ok {
			for _, attr := range ext.Attributes {
				a.finishAttr(m, attr)
			}
		}
	}
}

func (a *applier) finishAttr(container map[string]any, attr *schema.Attribute) {
	if attr.Mutability == schema.WriteOnly {
		schema.Delete(container, attr.Name)
		return
	}
	if attr.MultiValued && attr.Sub("primary") != nil {
		_, v, _ := schema.Lookup(container, attr.Name)
		if list, ok := v.([]any); ok {
			onePrimary(list)
		}
	}
}

// onePrimary keeps primary only on the last element marked primary, and
// stores it as a JSON boolean.
func onePrimary(list []any) {
	last := -1
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			if _, p, _ := schema.Lookup(m, "primary"); isTrue(p) {
				last = i
			}
		}
	}
	for i, e := range list {
		if m, ok := e.(map[string]any); ok {
			if k, p, _ := schema.Lookup(m, "primary"); isTrue(p) {
				m[k] = i == last
			}
		}
	}
}

func isTrue(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		return strings.EqualFold(t, "true")
	}
	return false
}
