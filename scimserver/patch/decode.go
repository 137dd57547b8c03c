// Package patch decodes and applies SCIM PATCH requests (RFC 7644 §3.5.2) to
// the JSON representation of a resource, accepting by default the deviations
// Okta, Microsoft Entra ID and OneLogin are known to send. Options.Strict
// turns those deviations into errors for endpoints that want RFC behaviour.
package patch

import (
	"encoding/json"
	"strings"

	"github.com/scim-operator/scim-operator/scimserver/schema"
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
	// Op is "add", "remove" or "replace", lower-cased whatever the client sent
	// (Entra ID capitalises, OneLogin does not).
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
// PatchOp URN when strict; otherwise it may be missing or wrong, as some IdPs
// send it. Errors are *Error with scimType invalidSyntax.
func Decode(body []byte, strict bool) ([]Operation, error) {
	var msg struct {
		Schemas    []string          `json:"schemas"`
		Operations []json.RawMessage `json:"Operations"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, errorf(ScimTypeInvalidSyntax, "the body is not a valid PatchOp JSON object")
	}
	if strict && !containsFold(msg.Schemas, schema.PatchOpURN) {
		return nil, errorf(ScimTypeInvalidSyntax, "schemas must contain %q", schema.PatchOpURN)
	}
	if len(msg.Operations) == 0 {
		return nil, errorf(ScimTypeInvalidSyntax, "Operations must be a non-empty array")
	}
	if len(msg.Operations) > MaxOperations {
		return nil, errorf(ScimTypeInvalidSyntax, "a request may carry at most %d operations", MaxOperations)
	}
	ops := make([]Operation, 0, len(msg.Operations))
	for i, raw := range msg.Operations {
		var w wireOperation
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, errorf(ScimTypeInvalidSyntax, "Operations[%d] is not an object with string op and path", i)
		}
		if w.Op == nil {
			return nil, errorf(ScimTypeInvalidSyntax, "Operations[%d] has no op", i)
		}
		op := Operation{Op: strings.ToLower(strings.TrimSpace(*w.Op)), Value: w.Value}
		switch op.Op {
		case OpAdd, OpRemove, OpReplace:
		default:
			return nil, errorf(ScimTypeInvalidSyntax, "Operations[%d]: op must be add, remove or replace", i)
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
