package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// TestPrinterColumnsPointAtTheSchema walks each served CRD's schema along
// the JSONPath of every printer column and selectable field: the API server
// accepts a column whose path names no field (it prints an empty cell
// forever), so a typo or a removed status field only shows up here. A column's
// type must also match the field's.
func TestPrinterColumnsPointAtTheSchema(t *testing.T) {
	crds := servedCRDs(t)
	if len(crds) < 9 {
		t.Fatalf("the API server serves %d scim-operator CRDs, want every kind", len(crds))
	}
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			root := v.Schema.OpenAPIV3Schema
			for _, col := range v.AdditionalPrinterColumns {
				if err := checkColumn(root, col.JSONPath, col.Type); err != nil {
					t.Errorf("%s %s column %q: %v", crd.Spec.Names.Kind, v.Name, col.Name, err)
				}
			}
			for _, f := range v.SelectableFields {
				if _, err := schemaAt(root, f.JSONPath); err != nil {
					t.Errorf("%s %s selectable field %s: %v", crd.Spec.Names.Kind, v.Name, f.JSONPath, err)
				}
			}
		}
	}
}

// TestCheckColumn shows that the walk above fails for the mistakes it is
// there to catch.
func TestCheckColumn(t *testing.T) {
	crds := servedCRDs(t)
	var binding *apiextensionsv1.JSONSchemaProps
	for _, crd := range crds {
		if crd.Spec.Names.Kind == "ScimRoleBinding" {
			binding = crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		}
	}
	if binding == nil {
		t.Fatal("no ScimRoleBinding CRD")
	}
	for _, tc := range []struct {
		reason, path, typ string
		ok                bool
	}{
		{"a spec field", ".spec.roleRef.name", "string", true},
		{"a condition", `.status.conditions[?(@.type=="Ready")].status`, "string", true},
		{"creationTimestamp", ".metadata.creationTimestamp", "date", true},
		{"a typo", ".status.subjectz", "integer", false},
		{"a typo in a condition filter", `.status.conditions[?(@.tpye=="Ready")].status`, "string", false},
		{"an object is not a cell", ".spec.group", "string", false},
		{"a string in an integer column", ".spec.endpoint", "integer", false},
		{"an index into an object", ".spec.roleRef[0]", "string", false},
		{"an unknown metadata field", ".metadata.creationTimestmap", "date", false},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			err := checkColumn(binding, tc.path, tc.typ)
			if (err == nil) != tc.ok {
				t.Errorf("checkColumn(%s, %s) = %v, want ok=%v", tc.path, tc.typ, err, tc.ok)
			}
		})
	}
}

// servedCRDs returns the scim-operator CRDs the API server serves.
func servedCRDs(t *testing.T) []apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	scheme := controlplane.Scheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var out []apiextensionsv1.CustomResourceDefinition
	for _, crd := range list.Items {
		if crd.Spec.Group == "scim.scim-operator.io" {
			out = append(out, crd)
		}
	}
	return out
}

// checkColumn fails unless path names a scalar field of the schema whose
// type fits the column's.
func checkColumn(root *apiextensionsv1.JSONSchemaProps, path, columnType string) error {
	s, err := schemaAt(root, path)
	if err != nil {
		return err
	}
	want := map[string]string{"string": "string", "date": "string", "integer": "integer", "number": "number", "boolean": "boolean"}[columnType]
	if want == "" {
		return fmt.Errorf("unknown column type %q", columnType)
	}
	if s.Type != want && !(columnType == "number" && s.Type == "integer") {
		return fmt.Errorf("a %s column on a field of type %q", columnType, s.Type)
	}
	return nil
}

// objectMeta lists the metadata fields a column may show: a CRD's schema
// leaves metadata to the API server.
var objectMeta = map[string]string{"name": "string", "namespace": "string", "generation": "integer",
	"creationTimestamp": "string", "deletionTimestamp": "string", "uid": "string", "resourceVersion": "string"}

// schemaAt returns the schema of the field a simple JSONPath names: steps
// separated by dots, each optionally followed by [*], [n] or a filter
// [?(@.field=="value")] into the items of an array.
func schemaAt(root *apiextensionsv1.JSONSchemaProps, path string) (*apiextensionsv1.JSONSchemaProps, error) {
	steps, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	if len(steps) == 2 && steps[0] == "metadata" {
		if typ, ok := objectMeta[steps[1]]; ok {
			return &apiextensionsv1.JSONSchemaProps{Type: typ}, nil
		}
		return nil, fmt.Errorf("no metadata field %q", steps[1])
	}
	cur := root
	for _, step := range steps {
		name, index, _ := strings.Cut(step, "[")
		next, ok := cur.Properties[name]
		if !ok {
			return nil, fmt.Errorf("no field %q under %q", name, path)
		}
		cur = &next
		if index == "" {
			continue
		}
		if cur.Type != "array" || cur.Items == nil || cur.Items.Schema == nil {
			return nil, fmt.Errorf("%q is not an array", name)
		}
		cur = cur.Items.Schema
		if filter, ok := strings.CutPrefix(strings.TrimSuffix(index, "]"), "?(@."); ok {
			field, _, _ := strings.Cut(filter, "==")
			if _, ok := cur.Properties[field]; !ok {
				return nil, fmt.Errorf("the filter of %q names no field %q", name, field)
			}
		}
	}
	if cur.Type == "object" || cur.Type == "array" {
		return nil, fmt.Errorf("%s is an %s, not a value", path, cur.Type)
	}
	return cur, nil
}

// splitPath splits a JSONPath at the dots outside brackets.
func splitPath(path string) ([]string, error) {
	rest, ok := strings.CutPrefix(path, ".")
	if !ok {
		return nil, fmt.Errorf("%q does not start with a dot", path)
	}
	var steps []string
	depth, start := 0, 0
	for i, r := range rest {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				steps = append(steps, rest[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced brackets in %q", path)
	}
	return append(steps, rest[start:]), nil
}
