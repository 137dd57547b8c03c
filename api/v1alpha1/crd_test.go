package v1alpha1_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(testharness.RunTests(m, &cp)) }

func newClient(t *testing.T) client.Client {
	t.Helper()
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSamplesApply creates every sample of config/samples, so each kind is
// created at least once against the real API server with its CRD validation.
func TestSamplesApply(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		for _, obj := range readObjects(t, f) {
			if err := c.Create(ctx, obj); err != nil {
				t.Fatalf("%s: creating %s %s: %v", filepath.Base(f), obj.GetKind(), obj.GetName(), err)
			}
			kinds[obj.GetKind()] = true
		}
	}
	for _, kind := range []string{"ScimEndpoint", "ScimUser", "ScimGroup", "ScimMembership",
		"ScimRoleBinding", "ScimClusterRoleBinding", "TenantApp"} {
		if !kinds[kind] {
			t.Errorf("no sample creates a %s", kind)
		}
	}

	// Defaults from the CRD schema are applied by the API server.
	var ep scimv1.ScimEndpoint
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "okta"}, &ep); err != nil {
		t.Fatal(err)
	}
	if ep.Spec.MaxPageSize != 1000 || ep.Spec.Compatibility != scimv1.CompatibilityLenient {
		t.Errorf("defaults not applied: maxPageSize=%d compatibility=%q", ep.Spec.MaxPageSize, ep.Spec.Compatibility)
	}
}

func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("%s: %v", path, err)
		}
		if len(obj.Object) > 0 {
			out = append(out, obj)
		}
	}
}

// TestValidationRejectsMistakes checks that the CRD schemas and CEL rules turn
// away the objects a platform engineer could get wrong.
func TestValidationRejectsMistakes(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := "validation"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	group := scimv1.GroupReference{DisplayName: "devs"}
	role := scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}

	cases := []struct {
		reason string
		obj    client.Object
		want   string
	}{
		{"an endpoint needs at least one token",
			&scimv1.ScimEndpoint{ObjectMeta: meta("no-token")}, "tokenSecretRefs"},
		{"compatibility is an enum",
			&scimv1.ScimEndpoint{ObjectMeta: meta("bad-compat"), Spec: scimv1.ScimEndpointSpec{
				TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "s", Key: "token"}}, Compatibility: "Sloppy"}}, "compatibility"},
		{"a user needs a userName",
			&scimv1.ScimUser{ObjectMeta: meta("u1"), Spec: scimv1.ScimUserSpec{Endpoint: "okta"}}, "userName"},
		{"a group reference needs exactly one of displayName or id",
			&scimv1.ScimRoleBinding{ObjectMeta: meta("both"), Spec: scimv1.ScimRoleBindingSpec{
				Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "a", ID: "b"}, RoleRef: role}}, "exactly one of displayName or id"},
		{"a role kind is Role or ClusterRole",
			&scimv1.ScimRoleBinding{ObjectMeta: meta("kind"), Spec: scimv1.ScimRoleBindingSpec{
				Endpoint: "okta", Group: group, RoleRef: scimv1.RoleRef{Kind: "User", Name: "x"}}}, "roleRef.kind"},
		{"a cluster binding needs exactly one target",
			&scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "two-targets"}, Spec: scimv1.ScimClusterRoleBindingSpec{
				Endpoint: scimv1.EndpointReference{Namespace: "default", Name: "okta"}, Group: group, RoleRef: role,
				Target: scimv1.BindingTarget{Namespaces: []string{"a"}, ClusterWide: true}}}, "exactly one of namespaces"},
		{"a cluster-wide grant needs a ClusterRole",
			&scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cw-role"}, Spec: scimv1.ScimClusterRoleBindingSpec{
				Endpoint: scimv1.EndpointReference{Namespace: "default", Name: "okta"}, Group: group,
				RoleRef: scimv1.RoleRef{Kind: "Role", Name: "x"}, Target: scimv1.BindingTarget{ClusterWide: true}}}, "needs roleRef.kind ClusterRole"},
		{"a tenant schema must be a plain identifier",
			&scimv1.TenantApp{ObjectMeta: meta("bad-schema"), Spec: scimv1.TenantAppSpec{Endpoint: "okta",
				Database: scimv1.TenantDatabase{ConnectionSecretRef: scimv1.SecretKeyReference{Name: "db", Key: "dsn"},
					Schema: `x"; drop table users; --`}}}, "schema"},
		{"an entitlement grants to users only",
			&scimv1.ScimEntitlement{ObjectMeta: meta("group-subjects"), Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "x",
				Grants:   []scimv1.EntitlementGrant{{RoleRef: role, BindingTarget: scimv1.BindingTarget{Namespaces: []string{"a"}}}},
				Subjects: scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: "oidc:"}}}, "subjects.kind must be User"},
		{"an entitlement grant needs exactly one target",
			&scimv1.ScimEntitlement{ObjectMeta: meta("no-target"), Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "x",
				Grants: []scimv1.EntitlementGrant{{RoleRef: role}}}}, "exactly one of namespaces"},
		{"an entitlement's cluster-wide grant needs a ClusterRole",
			&scimv1.ScimEntitlement{ObjectMeta: meta("cw-role"), Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "x",
				Grants: []scimv1.EntitlementGrant{{RoleRef: scimv1.RoleRef{Kind: "Role", Name: "x"}, BindingTarget: scimv1.BindingTarget{ClusterWide: true}}}}},
			"needs roleRef.kind ClusterRole"},
		{"an entitlement needs a grant",
			&scimv1.ScimEntitlement{ObjectMeta: meta("no-grants"), Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "x"}}, "grants"},
		{"an entitlement's name is a SCIM role value of at most 63 characters",
			&scimv1.ScimEntitlement{ObjectMeta: meta("a-very-long-entitlement-name-that-no-identity-provider-would-accept"),
				Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "x",
					Grants: []scimv1.EntitlementGrant{{RoleRef: role, BindingTarget: scimv1.BindingTarget{Namespaces: []string{"a"}}}}}},
			"at most 63 characters"},
		{"allowedNamespaces from Selector needs a selector",
			&scimv1.ScimEndpoint{ObjectMeta: meta("no-selector"), Spec: scimv1.ScimEndpointSpec{
				TokenSecretRefs:   []scimv1.SecretKeyReference{{Name: "s", Key: "token"}},
				AllowedNamespaces: scimv1.AllowedNamespaces{From: scimv1.NamespacesFromSelector}}}, "selector is set exactly when from is Selector"},
		{"allowedNamespaces takes a selector only with from Selector",
			&scimv1.ScimEndpoint{ObjectMeta: meta("stray-selector"), Spec: scimv1.ScimEndpointSpec{
				TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "s", Key: "token"}},
				AllowedNamespaces: scimv1.AllowedNamespaces{From: scimv1.NamespacesFromAll,
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}}}}, "selector is set exactly when from is Selector"},
		{"allowedNamespaces.from is an enum",
			&scimv1.ScimEndpoint{ObjectMeta: meta("bad-from"), Spec: scimv1.ScimEndpointSpec{
				TokenSecretRefs:   []scimv1.SecretKeyReference{{Name: "s", Key: "token"}},
				AllowedNamespaces: scimv1.AllowedNamespaces{From: "Everyone"}}}, "allowedNamespaces.from"},
		{"a binding's endpointNamespace is a namespace name",
			&scimv1.ScimRoleBinding{ObjectMeta: meta("bad-ep-ns"), Spec: scimv1.ScimRoleBindingSpec{
				Endpoint: "okta", EndpointNamespace: "Identity/x", Group: group, RoleRef: role}}, "endpointNamespace"},
		{"a TenantApp's endpointNamespace is a namespace name",
			&scimv1.TenantApp{ObjectMeta: meta("bad-ep-ns"), Spec: scimv1.TenantAppSpec{Endpoint: "okta", EndpointNamespace: "-x",
				Database: scimv1.TenantDatabase{ConnectionSecretRef: scimv1.SecretKeyReference{Name: "db", Key: "dsn"}}}}, "endpointNamespace"},
		{"a membership shard index is bounded",
			&scimv1.ScimMembership{ObjectMeta: meta("g-99"), Spec: scimv1.ScimMembershipSpec{Group: "g", Shard: 1 << 16}}, "shard"},
		{"a membership shard depth is bounded",
			&scimv1.ScimMembership{ObjectMeta: meta("g-17-0"), Spec: scimv1.ScimMembershipSpec{Group: "g", Depth: ptr.To[int32](17)}}, "depth"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			err := c.Create(ctx, tc.obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	// endpoint is immutable on users.
	u := &scimv1.ScimUser{ObjectMeta: meta("u2"), Spec: scimv1.ScimUserSpec{Endpoint: "okta", UserName: "a", Active: true}}
	if err := c.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Spec.Endpoint = "entra"
	if err := c.Update(ctx, u); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "endpoint is immutable") {
		t.Errorf("moving a user to another endpoint: want Invalid 'endpoint is immutable', got %v", err)
	}
}
