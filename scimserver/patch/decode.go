// Package patch decodes and applies SCIM PATCH requests (RFC 7644 §3.5.2) to
// the JSON representation of a resource, accepting the documented deviations
// of identity providers that Options.Quirks lists (see schema.Quirks).
package patch

import (
	"encoding/json"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
	"github.com/scim-operator/scim-operator/scimserver/scimerr"
)

// Operation kinds, lower case.
const (
	OpAdd     = "add"
	OpRemove  = "remove"
	OpReplace = "replace"
)

// MaxOperations bounds the operations of one request, so a single PATCH
// cannot make the server do unbounded work.
const MaxOperations = 1000

// Operation is one entry of a PatchOp request's "Operations" array.
type Operation struct {
	// Op is "add", "remove" or "replace", lower-cased when
	// Quirks.CapitalizedOps let the client capitalise it.
	Op string
	// Path is the target attribute path, "" when the client sent none.
	Path string
	// Value is the raw JSON value; nil when the client sent no "value".
	Value json.RawMessage
}

type wireOperation struct {
	Op    *string         `json:"op"`
	Path  *string         `json:"path"`
	Value json.RawMessage `json:"value"`
}

// Decode parses a PatchOp request body. The "schemas" member must list the
// PatchOp URN (RFC 7644 §3.5.2) in every mode: no identity provider is
// documented to leave it out. Errors are *scimerr.Error with scimType
// invalidSyntax.
func Decode(body []byte, q schema.Quirks) ([]Operation, error) {
	var msg struct {
		Schemas    []string          `json:"schemas"`
		Operations []json.RawMessage `json:"Operations"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, errorf(scimerr.InvalidSyntax, "the body is not a valid PatchOp JSON object")
	}
	if !containsFold(msg.Schemas, schema.PatchOpURN) {
		return nil, errorf(scimerr.InvalidSyntax, "schemas must contain %q", schema.PatchOpURN)
	}
	if len(msg.Operations) == 0 {
		return nil, errorf(scimerr.InvalidSyntax, "Operations must be a non-empty array")
	}
	if len(msg.Operations) > MaxOperations {
		return nil, errorf(scimerr.InvalidSyntax, "a request may carry at most %d operations", MaxOperations)
	}
	ops := make([]Operation, 0, len(msg.Operations))
	for i, raw := range msg.Operations {
		var w wireOperation
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, errorf(scimerr.InvalidSyntax, "Operations[%d] is not an object with string op and path", i)
		}
		if w.Op == nil {
			return nil, errorf(scimerr.InvalidSyntax, "Operations[%d] has no op", i)
		}
		op := Operation{Op: strings.TrimSpace(*w.Op), Value: w.Value}
		if q.CapitalizedOps {
			op.Op = strings.ToLower(op.Op)
		}
		switch op.Op {
		case OpAdd, OpRemove, OpReplace:
		default:
			return nil, errorf(scimerr.InvalidSyntax, "Operations[%d]: op must be add, remove or replace", i)
		}
		if w.Path != nil {
			op.Path = strings.TrimSpace(*w.Path)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}
