package chart

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// policyActivation bounds the wait for a new ValidatingAdmissionPolicy (or an
// RBAC change) to take effect in the API server.
const policyActivation = 15 * time.Second

// TestAdmissionPolicies installs the chart's two ValidatingAdmissionPolicies
// into the real kube-apiserver and acts as other users through impersonation:
// a tenant cannot have the operator grant a role they could not bind
// themselves, and nobody but the operator's ServiceAccounts writes identities.
func TestAdmissionPolicies(t *testing.T) {
	cp := controlPlane(t)
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var policies []*unstructured.Unstructured
	for _, o := range render(t, nil) {
		if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
			policies = append(policies, o)
		}
	}
	if len(policies) != 4 {
		t.Fatalf("rendered %d policies and bindings, want 4", len(policies))
	}
	kubectlApply(t, writeKubeconfig(t, cp), toYAML(t, policies), false)
	t.Cleanup(func() {
		for _, o := range policies {
			_ = admin.Delete(ctx, o)
		}
	})
	for _, ns := range []string{"t1", "t2"} {
		create(t, admin, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}

	t.Run("ScimRoleBinding needs bind on its role", func(t *testing.T) { testScimRoleBinding(ctx, t, cp, admin) })
	t.Run("ScimClusterRoleBinding needs bind wherever it grants", func(t *testing.T) { testScimClusterRoleBinding(ctx, t, cp, admin) })
	t.Run("ScimEntitlement needs bind for every grant", func(t *testing.T) { testScimEntitlement(ctx, t, cp, admin) })
	t.Run("only the operator writes identities", func(t *testing.T) { testIdentityWriters(ctx, t, cp, admin) })
}

func testScimRoleBinding(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, admin client.Client) {
	const tenant = "tenant-alice"
	grant(t, admin, "t1", tenant, "scim-bindings-writer", rbacv1.PolicyRule{
		APIGroups: []string{scimv1.GroupVersion.Group}, Resources: []string{"scimrolebindings"},
		Verbs: []string{"get", "create", "update", "patch", "delete"},
	})
	alice := impersonate(t, cp, tenant)
	rb := &scimv1.ScimRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "editors"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "editors"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"}},
	}
	expectRefused(ctx, t, admin, func() error { return alice.Create(ctx, rb.DeepCopy()) }, rb, "not allowed to bind ClusterRole edit in namespace t1")

	// With bind on edit in t1 (and nothing else), the same create is admitted.
	grant(t, admin, "t1", tenant, "bind-edit", rbacv1.PolicyRule{
		APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"},
		Verbs: []string{"bind"}, ResourceNames: []string{"edit"},
	})
	eventually(t, "a tenant allowed to bind edit creates a ScimRoleBinding for edit", func() error {
		return alice.Create(ctx, rb.DeepCopy())
	})

	// Changing the role to one they cannot bind is refused.
	var got scimv1.ScimRoleBinding
	if err := alice.Get(ctx, client.ObjectKeyFromObject(rb), &got); err != nil {
		t.Fatal(err)
	}
	got.Spec.RoleRef.Name = "admin"
	if err := alice.Update(ctx, &got); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "not allowed to bind ClusterRole admin") {
		t.Errorf("updating roleRef to admin: want Forbidden by the policy, got %v", err)
	}

	// Without bind any more, a tenant's metadata-only update (like the
	// operator's finalizer updates) and the deletion still pass.
	if err := admin.Delete(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "bind-edit-" + tenant}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a spec update to edit is refused once bind is revoked", func() error {
		var cur scimv1.ScimRoleBinding
		if err := alice.Get(ctx, client.ObjectKeyFromObject(rb), &cur); err != nil {
			return err
		}
		cur.Spec.Group.DisplayName = "editors-2"
		if err := alice.Update(ctx, &cur); !apierrors.IsForbidden(err) {
			if err == nil {
				cur.Spec.Group.DisplayName = "editors"
				_ = admin.Update(ctx, &cur)
			}
			return errNotYet
		}
		return nil
	})
	var cur scimv1.ScimRoleBinding
	if err := alice.Get(ctx, client.ObjectKeyFromObject(rb), &cur); err != nil {
		t.Fatal(err)
	}
	cur.Labels = map[string]string{"team": "payments"}
	cur.Finalizers = append(cur.Finalizers, "example.com/hold")
	if err := alice.Update(ctx, &cur); err != nil {
		t.Errorf("metadata-only update refused: %v", err)
	}
	cur.Finalizers = nil
	if err := alice.Update(ctx, &cur); err != nil {
		t.Errorf("removing the finalizer refused: %v", err)
	}
	if err := alice.Delete(ctx, &cur); err != nil {
		t.Errorf("deleting refused: %v", err)
	}
}

func testScimClusterRoleBinding(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, admin client.Client) {
	const user = "ops-bob"
	writer := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "scim-cluster-bindings-writer"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{scimv1.GroupVersion.Group}, Resources: []string{"scimclusterrolebindings"},
		Verbs: []string{"get", "create", "update", "delete"},
	}}}
	create(t, admin, writer)
	create(t, admin, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: writer.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: writer.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: user}}})
	grant(t, admin, "t1", user, "bind-edit", rbacv1.PolicyRule{
		APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"},
		Verbs: []string{"bind"}, ResourceNames: []string{"edit"},
	})
	bob := impersonate(t, cp, user)
	crb := func(name string, target scimv1.BindingTarget) *scimv1.ScimClusterRoleBinding {
		return &scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: scimv1.ScimClusterRoleBindingSpec{
				Endpoint: scimv1.EndpointReference{Namespace: "t1", Name: "okta"},
				Group:    scimv1.GroupReference{DisplayName: "ops"},
				RoleRef:  scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"}, Target: target,
			}}
	}
	two := crb("ops-t1-t2", scimv1.BindingTarget{Namespaces: []string{"t1", "t2"}})
	expectRefused(ctx, t, admin, func() error { return bob.Create(ctx, two.DeepCopy()) }, two,
		"not allowed to bind ClusterRole edit in every namespace of spec.target.namespaces")
	wide := crb("ops-wide", scimv1.BindingTarget{ClusterWide: true})
	if err := bob.Create(ctx, wide); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "cluster-wide") {
		t.Errorf("cluster-wide grant without bind at cluster scope: want Forbidden by the policy, got %v", err)
	}
	selected := crb("ops-selected", scimv1.BindingTarget{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "ops"}}})
	if err := bob.Create(ctx, selected); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "cluster-wide") {
		t.Errorf("namespaceSelector grant without bind at cluster scope: want Forbidden by the policy, got %v", err)
	}
	eventually(t, "a grant in t1 only, where bob may bind edit", func() error {
		return bob.Create(ctx, crb("ops-t1", scimv1.BindingTarget{Namespaces: []string{"t1"}}))
	})
	_ = admin.Delete(ctx, crb("ops-t1", scimv1.BindingTarget{}))
}

// testScimEntitlement: a catalog entry grants every role of spec.grants to
// whoever the IdP grants it, so its author must be able to bind each role
// wherever it is granted; a tenant may publish what they could grant.
func testScimEntitlement(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, admin client.Client) {
	const tenant = "tenant-carol"
	grant(t, admin, "t1", tenant, "scim-entitlements-writer", rbacv1.PolicyRule{
		APIGroups: []string{scimv1.GroupVersion.Group}, Resources: []string{"scimentitlements"},
		Verbs: []string{"get", "create", "update", "patch", "delete"},
	})
	grant(t, admin, "t1", tenant, "bind-edit", rbacv1.PolicyRule{
		APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"},
		Verbs: []string{"bind"}, ResourceNames: []string{"edit"},
	})
	carol := impersonate(t, cp, tenant)
	entitlement := func(name string, grants ...scimv1.EntitlementGrant) *scimv1.ScimEntitlement {
		return &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: name},
			Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: name, Grants: grants}}
	}
	edit := scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"}
	in := func(nss ...string) scimv1.BindingTarget { return scimv1.BindingTarget{Namespaces: nss} }
	for _, e := range []*scimv1.ScimEntitlement{
		entitlement("edit-t2", scimv1.EntitlementGrant{RoleRef: edit, BindingTarget: in("t2")}),
		entitlement("edit-t1-admin-t1", scimv1.EntitlementGrant{RoleRef: edit, BindingTarget: in("t1")},
			scimv1.EntitlementGrant{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "admin"}, BindingTarget: in("t1")}),
		entitlement("edit-wide", scimv1.EntitlementGrant{RoleRef: edit, BindingTarget: scimv1.BindingTarget{ClusterWide: true}}),
		entitlement("edit-selected", scimv1.EntitlementGrant{RoleRef: edit,
			BindingTarget: scimv1.BindingTarget{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}),
	} {
		expectRefused(ctx, t, admin, func() error { return carol.Create(ctx, e.DeepCopy()) }, e, "not allowed to bind every role of spec.grants")
	}
	ok := entitlement("edit-t1", scimv1.EntitlementGrant{RoleRef: edit, BindingTarget: in("t1")})
	eventually(t, "a tenant allowed to bind edit in t1 publishes an entitlement granting edit in t1", func() error {
		return carol.Create(ctx, ok.DeepCopy())
	})
	var got scimv1.ScimEntitlement
	if err := carol.Get(ctx, client.ObjectKeyFromObject(ok), &got); err != nil {
		t.Fatal(err)
	}
	got.Spec.Grants = append(got.Spec.Grants, scimv1.EntitlementGrant{RoleRef: edit, BindingTarget: in("t2")})
	if err := carol.Update(ctx, &got); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "not allowed to bind every role") {
		t.Errorf("adding a grant in t2: want Forbidden by the policy, got %v", err)
	}
	_ = admin.Delete(ctx, ok)
}

func testIdentityWriters(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, admin client.Client) {
	user := &scimv1.ScimUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "user-forged"},
		Spec:       scimv1.ScimUserSpec{Endpoint: "okta", UserName: "mallory@example.com", Active: true},
	}
	// An administrator (system:masters) is refused: RBAC allows everything,
	// the policy does not.
	mallory := impersonate(t, cp, "mallory", "system:masters")
	expectRefused(ctx, t, admin, func() error { return mallory.Create(ctx, user.DeepCopy()) }, user,
		"only the scim-operator ServiceAccounts may create or update scimusers")
	group := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "group-forged"},
		Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: "admins"}}
	if err := mallory.Create(ctx, group); !apierrors.IsForbidden(err) {
		t.Errorf("creating a ScimGroup as an administrator: want Forbidden, got %v", err)
	}

	// The same request as the SCIM server's ServiceAccount is admitted.
	operator := impersonate(t, cp, scimSA, "system:serviceaccounts", "system:masters")
	if err := operator.Create(ctx, user.DeepCopy()); err != nil {
		t.Fatalf("creating a ScimUser as %s: %v", scimSA, err)
	}
	var got scimv1.ScimUser
	if err := mallory.Get(ctx, client.ObjectKeyFromObject(user), &got); err != nil {
		t.Fatal(err)
	}
	got.Spec.Active = false
	if err := mallory.Update(ctx, &got); !apierrors.IsForbidden(err) {
		t.Errorf("updating a ScimUser as an administrator: want Forbidden, got %v", err)
	}
	// The reconcilers' ServiceAccount adds and removes finalizers, and
	// changes nothing an identity says.
	reconcilers := impersonate(t, cp, controllersSA, "system:serviceaccounts", "system:masters")
	if err := reconcilers.Get(ctx, client.ObjectKeyFromObject(user), &got); err != nil {
		t.Fatal(err)
	}
	got.Spec.Active = false
	if err := reconcilers.Update(ctx, &got); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "only the metadata") {
		t.Errorf("changing a ScimUser's spec as the reconcilers: want Forbidden by the policy, got %v", err)
	}
	if err := reconcilers.Get(ctx, client.ObjectKeyFromObject(user), &got); err != nil {
		t.Fatal(err)
	}
	got.Finalizers = append(got.Finalizers, "scim.scim-operator.io/test")
	if err := reconcilers.Update(ctx, &got); err != nil {
		t.Errorf("adding a finalizer as the reconcilers: %v", err)
	}
	got.Finalizers = nil
	if err := reconcilers.Update(ctx, &got); err != nil {
		t.Errorf("removing a finalizer as the reconcilers: %v", err)
	}
	// Deletion stays open: the escape hatch for stuck objects.
	if err := mallory.Delete(ctx, &got); err != nil {
		t.Errorf("deleting a ScimUser as an administrator: %v", err)
	}
}

// errNotYet makes eventually try again.
var errNotYet = apierrors.NewServiceUnavailable("not yet")

// expectRefused retries a create until the API server refuses it with a
// message containing want: a new policy takes a moment to become active, and a
// create admitted in the meantime is deleted (as admin) and tried again.
func expectRefused(ctx context.Context, t *testing.T, admin client.Client, try func() error, obj client.Object, want string) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, policyActivation, true, func(ctx context.Context) (bool, error) {
		last = try()
		if last == nil {
			_ = admin.Delete(ctx, obj)
			return false, nil
		}
		return apierrors.IsForbidden(last) && strings.Contains(last.Error(), want), nil
	})
	if err != nil {
		t.Fatalf("want the create of %s refused with %q, last answer: %v", obj.GetName(), want, last)
	}
}

// eventually retries fn until it succeeds: RBAC changes reach the authorizer
// through its informers.
func eventually(t *testing.T, what string, fn func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, policyActivation, true,
		func(context.Context) (bool, error) { last = fn(); return last == nil, nil })
	if err != nil {
		t.Fatalf("%s: %v", what, last)
	}
}

// impersonate returns a client acting as user in groups (system:authenticated
// is added, as the authenticator would).
func impersonate(t *testing.T, cp *controlplane.ControlPlane, user string, groups ...string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	c, err := client.New(cfg, client.Options{Scheme: controlplane.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// grant gives user one rule in namespace, through ClusterRole name and RoleBinding <name>-<user>.
func grant(t *testing.T, admin client.Client, namespace, user, name string, rule rbacv1.PolicyRule) {
	t.Helper()
	create(t, admin, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{rule}})
	create(t, admin, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-" + user},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "rbac.authorization.k8s.io", Name: user}}})
}

// create creates obj as admin; an object that exists already is fine.
func create(t *testing.T, admin client.Client, obj client.Object) {
	t.Helper()
	if err := admin.Create(context.Background(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// TestAdmissionPoliciesEqualConfig: config/admission holds exactly what the
// chart renders for release scim-operator in namespace scim-system.
func TestAdmissionPoliciesEqualConfig(t *testing.T) {
	out, err := helm(t, nil, "template", "scim-operator", chartDir, "--namespace", "scim-system")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]map[string]any{}
	for _, o := range objs {
		if strings.HasPrefix(o.GetKind(), "ValidatingAdmissionPolicy") {
			o.SetLabels(nil)
			rendered[o.GetKind()+"/"+o.GetName()] = o.Object
		}
	}
	paths, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "admission", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config := map[string]map[string]any{}
	for _, p := range paths {
		for _, o := range readObjects(t, p) {
			config[o.GetKind()+"/"+o.GetName()] = o.Object
		}
	}
	if diff := cmp.Diff(config, rendered); diff != "" {
		t.Errorf("config/admission differs from the chart (-config +chart):\n%s", diff)
	}
}
