package rbac_test

import (
	"context"
	"net/http"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestAccessFollowsTheIdP walks the lifecycle of issue 4's first acceptance
// line: every IdP action shows in the RoleBinding.
func TestAccessFollowsTheIdP(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "rbac-lifecycle", "okta")
	alice := createUser(t, ep, "alice@example.com")
	bob := createUser(t, ep, "bob@example.com")
	carol := createUser(t, ep, "carol@example.com")
	group := createGroup(t, ep, "k8s-viewers", alice, bob, carol)
	b := bind(t, ep.Namespace, "viewers", "okta", "k8s-viewers", view)
	uid := func() string {
		var cur scimv1.ScimRoleBinding
		if err := op.Client.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			t.Fatal(err)
		}
		return string(cur.UID)
	}()

	wantSubjects(t, uid, ep.Namespace, "alice@example.com", "bob@example.com", "carol@example.com")
	var rbs rbacv1.RoleBindingList
	if err := op.Client.List(ctx, &rbs, client.InNamespace(ep.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, rb := range rbs.Items {
		if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != "view" {
			t.Errorf("RoleBinding %s grants %s/%s, want ClusterRole/view", rb.Name, rb.RoleRef.Kind, rb.RoleRef.Name)
		}
		for _, s := range rb.Subjects {
			if s.Kind != rbacv1.UserKind {
				t.Errorf("subject %s has kind %s, want User", s.Name, s.Kind)
			}
		}
	}

	// Okta deactivation and reactivation.
	patch(t, ep, "/Users/"+bob, map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	wantSubjects(t, uid, ep.Namespace, "alice@example.com", "carol@example.com")
	patch(t, ep, "/Users/"+bob, map[string]any{"op": "replace", "value": map[string]any{"active": true}})
	wantSubjects(t, uid, ep.Namespace, "alice@example.com", "bob@example.com", "carol@example.com")

	// Removal from the group (Okta's filtered remove).
	patch(t, ep, "/Groups/"+group, map[string]any{"op": "remove", "path": `members[value eq "` + carol + `"]`})
	wantSubjects(t, uid, ep.Namespace, "alice@example.com", "bob@example.com")

	// A rename in the IdP does not move the grant.
	patch(t, ep, "/Groups/"+group, map[string]any{"op": "replace", "value": map[string]any{"id": group, "displayName": "k8s-viewers-renamed"}})
	testharness.Eventually(t, waitLimit, func() string {
		var g scimv1.ScimGroup
		err := op.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: group}, &g)
		return testharness.Unless(err == nil && g.Spec.DisplayName == "k8s-viewers-renamed", "group renamed", g.Spec.DisplayName)
	})
	patch(t, ep, "/Groups/"+group, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": carol}}})
	wantSubjects(t, uid, ep.Namespace, "alice@example.com", "bob@example.com", "carol@example.com")

	// Deleting the group revokes everything.
	if resp := ep.Do(t, "DELETE", "/Groups/"+group, nil); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE group: %d %s", resp.Status, resp.Body)
	}
	wantSubjects(t, uid, ep.Namespace)
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimRoleBinding
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(b), &cur)
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Status == metav1.ConditionFalse && c.Reason == "GroupNotFound", "binding reports GroupNotFound", c.String())
	})

	// A new group of the same name is bound again; deleting the binding removes it all.
	createGroup(t, ep, "k8s-viewers", alice)
	wantSubjects(t, uid, ep.Namespace, "alice@example.com")
	if err := op.Client.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, uid, "")
	testharness.Eventually(t, waitLimit, func() string {
		err := op.Client.Get(ctx, client.ObjectKeyFromObject(b), &scimv1.ScimRoleBinding{})
		return testharness.Unless(apierrors.IsNotFound(err), "binding deleted (finalizer released)", "still present")
	})
}

// TestDriftIsCorrected edits and deletes an owned RoleBinding by hand.
func TestDriftIsCorrected(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "rbac-drift", "okta")
	alice := createUser(t, ep, "alice@example.com")
	createGroup(t, ep, "devs", alice)
	b := bind(t, ep.Namespace, "devs", "okta", "devs", view)
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(b), b)
	uid := string(b.UID)
	wantSubjects(t, uid, ep.Namespace, "alice@example.com")

	var rb rbacv1.RoleBinding
	if err := op.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: "scim-rb-devs-0"}, &rb); err != nil {
		t.Fatal(err)
	}
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"})
	if err := op.Client.Update(ctx, &rb); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, uid, ep.Namespace, "alice@example.com")

	if err := op.Client.Delete(ctx, &rb); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, uid, ep.Namespace, "alice@example.com")
}

// TestEscalationGrantsNothing tries what a tenant with rights in one namespace
// might: cluster-admin, a role off the allow-list, another namespace.
func TestEscalationGrantsNothing(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "rbac-escalation", "okta")
	alice := createUser(t, ep, "alice@example.com")
	createGroup(t, ep, "devs", alice)

	// cluster-admin is refused at admission.
	err := op.Client.Create(ctx, &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: "admin"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "devs"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}}})
	if !apierrors.IsInvalid(err) {
		t.Errorf("binding cluster-admin: want Invalid at admission, got %v", err)
	}

	// A role that is not on the allow-list is refused by the reconciler.
	off := bind(t, ep.Namespace, "secrets", "okta", "devs", scimv1.RoleRef{Kind: "ClusterRole", Name: "admin"})
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimRoleBinding
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(off), &cur)
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Reason == "RoleNotAllowed" && cur.Status.ObservedGeneration == cur.Generation, "RoleNotAllowed reported", c.String())
	})
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(off), off)
	if got := subjects(t, string(off.UID), ""); len(got) != 0 {
		t.Errorf("a role off the allow-list granted %v", got)
	}

	// A namespaced binding has no way to name another namespace: the field
	// does not exist, and strict field validation refuses it.
	u := map[string]any{
		"apiVersion": "scim.scim-operator.io/v1alpha1", "kind": "ScimRoleBinding",
		"metadata": map[string]any{"namespace": ep.Namespace, "name": "elsewhere"},
		"spec": map[string]any{"endpoint": "okta", "group": map[string]any{"displayName": "devs"},
			"roleRef": map[string]any{"kind": "ClusterRole", "name": "view"}, "target": map[string]any{"namespaces": []any{"kube-system"}}},
	}
	obj := unstructuredFrom(u)
	if err := op.Client.Create(ctx, obj, client.FieldValidation("Strict")); err == nil {
		t.Error("a ScimRoleBinding naming another namespace was accepted with strict field validation")
	}
	// Even without strict validation the unknown field is dropped and only the own namespace is granted.
	if err := op.Client.Create(ctx, unstructuredFrom(u)); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, waitLimit, func() string {
		var list rbacv1.RoleBindingList
		_ = op.Client.List(ctx, &list, client.InNamespace("kube-system"))
		for _, rb := range list.Items {
			if rb.Annotations["scim.scim-operator.io/binding"] != "" {
				return "own-namespace grant only; granted in kube-system: " + rb.Name
			}
		}
		var own rbacv1.RoleBindingList
		_ = op.Client.List(ctx, &own, client.InNamespace(ep.Namespace))
		for _, rb := range own.Items {
			if rb.Name == "scim-rb-elsewhere-0" {
				return ""
			}
		}
		return "own-namespace grant only; no own-namespace grant yet"
	})
}
