package chart

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/devmode"
)

// TestTenantRolesAggregate: the chart's tenant-edit and tenant-view
// ClusterRoles carry the aggregation labels (only with
// rbac.aggregateToDefaultRoles) and, aggregated into the built-in roles as
// kube-controller-manager would, let a namespace editor bind another
// namespace's endpoint while neither an editor nor a cluster-wide viewer can
// read the identity provider's users.
func TestTenantRolesAggregate(t *testing.T) {
	roles := tenantRoles(t, render(t, nil))
	for name, want := range map[string][]string{
		"scim-scim-operator-tenant-edit": {"aggregate-to-admin", "aggregate-to-edit"},
		"scim-scim-operator-tenant-view": {"aggregate-to-view"},
	} {
		r := roles[name]
		if r == nil {
			t.Fatalf("the chart renders no ClusterRole %s", name)
		}
		for _, l := range want {
			if r.GetLabels()["rbac.authorization.k8s.io/"+l] != "true" {
				t.Errorf("ClusterRole %s lacks label rbac.authorization.k8s.io/%s: %v", name, l, r.GetLabels())
			}
		}
	}
	for name, r := range tenantRoles(t, render(t, nil, "--set", "rbac.aggregateToDefaultRoles=false")) {
		for l := range r.GetLabels() {
			if strings.HasPrefix(l, "rbac.authorization.k8s.io/aggregate-to-") {
				t.Errorf("with aggregateToDefaultRoles=false, ClusterRole %s still has label %s", name, l)
			}
		}
	}

	cp := controlPlane(t)
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The user exists before identity-writers would refuse an
	// administrator's create.
	const identity, tenantNS = "tenants-identity", "tenants-t1"
	for _, ns := range []string{identity, tenantNS} {
		create(t, admin, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	create(t, admin, &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: identity, Name: "u1"},
		Spec: scimv1.ScimUserSpec{Endpoint: "okta", UserName: "alice@example.com", Active: true}})
	var apply []*unstructured.Unstructured
	for _, o := range render(t, nil) {
		if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") || roles[o.GetName()] != nil && o.GetKind() == "ClusterRole" {
			apply = append(apply, o)
		}
	}
	kubectlApply(t, writeKubeconfig(t, cp), toYAML(t, apply), false)
	t.Cleanup(func() {
		for _, o := range apply {
			_ = admin.Delete(ctx, o)
		}
		_ = devmode.AggregateClusterRoles(ctx, admin)
	})
	if err := devmode.AggregateClusterRoles(ctx, admin); err != nil {
		t.Fatal(err)
	}

	// An editor of t1, through the built-in edit role only.
	const editor, viewer = "tenant-editor", "tenant-viewer"
	create(t, admin, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: "edit-" + editor},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: editor}}})
	ed := impersonate(t, cp, editor)
	rb := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: "payments-viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", EndpointNamespace: identity,
			Group: scimv1.GroupReference{DisplayName: "payments"}, RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}}
	// edit lets them write ScimRoleBindings; binding-authority still wants
	// bind on the role, which edit does not give.
	expectRefused(ctx, t, admin, func() error { return ed.Create(ctx, rb.DeepCopy()) }, rb,
		"not allowed to bind ClusterRole view in namespace "+tenantNS)
	grant(t, admin, tenantNS, editor, "tenants-bind-view", rbacv1.PolicyRule{
		APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles"},
		Verbs: []string{"bind"}, ResourceNames: []string{"view"}})
	eventually(t, "an editor of t1 with bind on view creates a ScimRoleBinding of identity/okta", func() error {
		return ed.Create(ctx, rb.DeepCopy())
	})
	// An entitlement of t1 published to identity/okta: bind on view in t1
	// suffices to grant it there, and nowhere else.
	entitlement := func(name, grantIn string) *scimv1.ScimEntitlement {
		return &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: name},
			Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", EndpointNamespace: identity, DisplayName: name,
				Grants: []scimv1.EntitlementGrant{{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
					BindingTarget: scimv1.BindingTarget{Namespaces: []string{grantIn}}}}}}
	}
	// edit alone does not write ScimEntitlements: in an endpoint's own
	// namespace they are the platform's catalog. A publisher of t1 is given
	// that right explicitly.
	if err := ed.Create(ctx, entitlement("unasked", tenantNS)); !apierrors.IsForbidden(err) {
		t.Errorf("an editor of t1 creating a ScimEntitlement with edit alone: want Forbidden, got %v", err)
	}
	grant(t, admin, tenantNS, editor, "tenants-publish", rbacv1.PolicyRule{
		APIGroups: []string{scimv1.GroupVersion.Group}, Resources: []string{"scimentitlements"},
		Verbs: []string{"create", "update", "patch", "delete", "get", "list", "watch"}})
	eventually(t, "a publisher of t1 with bind on view creates a ScimEntitlement granting in t1", func() error {
		return client.IgnoreAlreadyExists(ed.Create(ctx, entitlement("payments-readers", tenantNS)))
	})
	outside := entitlement("identity-readers", identity)
	expectRefused(ctx, t, admin, func() error { return ed.Create(ctx, outside.DeepCopy()) }, outside, "not allowed to bind every role of spec.grants")
	eventually(t, "an editor of t1 creates a TenantApp", func() error {
		return client.IgnoreAlreadyExists(ed.Create(ctx, &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: "app"},
			Spec: scimv1.TenantAppSpec{Endpoint: "okta", EndpointNamespace: identity, Database: scimv1.TenantDatabase{
				ConnectionSecretRef: scimv1.SecretKeyReference{Name: "app-db", Key: "dsn"}}}}))
	})
	eventually(t, "an editor of t1 lists its ScimEndpoints", func() error {
		return ed.List(ctx, &scimv1.ScimEndpointList{}, client.InNamespace(tenantNS))
	})
	for _, ns := range []string{identity, tenantNS} {
		if err := ed.List(ctx, &scimv1.ScimUserList{}, client.InNamespace(ns)); !apierrors.IsForbidden(err) {
			t.Errorf("an editor of t1 listing ScimUsers in %s: want Forbidden, got %v", ns, err)
		}
	}
	var u scimv1.ScimUser
	if err := ed.Get(ctx, client.ObjectKey{Namespace: identity, Name: "u1"}, &u); !apierrors.IsForbidden(err) {
		t.Errorf("an editor of t1 reading a ScimUser of %s: want Forbidden, got %v", identity, err)
	}

	// A viewer of the whole cluster, through the built-in view role.
	create(t, admin, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenants-view-" + viewer},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: viewer}}})
	t.Cleanup(func() {
		_ = admin.Delete(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenants-view-" + viewer}})
	})
	vw := impersonate(t, cp, viewer)
	for _, list := range []client.ObjectList{&scimv1.ScimRoleBindingList{}, &scimv1.TenantAppList{},
		&scimv1.ScimEndpointList{}, &scimv1.ScimEntitlementList{}} {
		eventually(t, "a viewer lists every namespace's "+typeName(list), func() error {
			return vw.List(ctx, list)
		})
	}
	for _, list := range []client.ObjectList{&scimv1.ScimUserList{}, &scimv1.ScimGroupList{}, &scimv1.ScimMembershipList{}} {
		if err := vw.List(ctx, list); !apierrors.IsForbidden(err) {
			t.Errorf("a cluster viewer listing %s: want Forbidden, got %v", typeName(list), err)
		}
		if err := vw.List(ctx, list, client.InNamespace(identity)); !apierrors.IsForbidden(err) {
			t.Errorf("a cluster viewer listing %s in %s: want Forbidden, got %v", typeName(list), identity, err)
		}
	}
	if err := vw.Create(ctx, &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tenantNS, Name: "v"}, Spec: rb.Spec}); !apierrors.IsForbidden(err) {
		t.Errorf("a viewer creating a ScimRoleBinding: want Forbidden, got %v", err)
	}
}

// tenantRoles are the rendered ClusterRoles named *-tenant-edit and *-tenant-view.
func tenantRoles(t *testing.T, objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for _, o := range find(objs, "ClusterRole") {
		if strings.HasSuffix(o.GetName(), "-tenant-edit") || strings.HasSuffix(o.GetName(), "-tenant-view") {
			out[o.GetName()] = o
		}
	}
	return out
}

func typeName(o any) string { return strings.TrimPrefix(fmt.Sprintf("%T", o), "*v1alpha1.") }
