package rbac_test

import (
	"context"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestClusterBindingTargets covers the cluster-scoped kind: a namespace
// selector that also catches namespaces created later, and a cluster-wide grant.
func TestClusterBindingTargets(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "rbac-cluster", "okta")
	alice := createUser(t, ep, "alice@example.com")
	createGroup(t, ep, "payments", alice)
	mkns := func(name string) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "payments"}}}
		if err := op.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	mkns("payments-a")
	sel := &scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "payments-edit"},
		Spec: scimv1.ScimClusterRoleBindingSpec{
			Endpoint: scimv1.EndpointReference{Namespace: ep.Namespace, Name: "okta"},
			Group:    scimv1.GroupReference{DisplayName: "payments"},
			RoleRef:  scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
			Target:   scimv1.BindingTarget{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}},
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeEmail, Prefix: "oidc:"},
		}}
	if err := op.Client.Create(ctx, sel); err != nil {
		t.Fatal(err)
	}
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(sel), sel)
	wantSubjects(t, string(sel.UID), "payments-a", "oidc:alice@example.com")
	mkns("payments-b") // created after the binding
	wantSubjects(t, string(sel.UID), "payments-b", "oidc:alice@example.com")

	wide := &scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "payments-view-all"},
		Spec: scimv1.ScimClusterRoleBindingSpec{
			Endpoint: scimv1.EndpointReference{Namespace: ep.Namespace, Name: "okta"},
			Group:    scimv1.GroupReference{DisplayName: "payments"},
			RoleRef:  scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			Target:   scimv1.BindingTarget{ClusterWide: true},
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: "idp:"},
		}}
	if err := op.Client.Create(ctx, wide); err != nil {
		t.Fatal(err)
	}
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(wide), wide)
	testharness.Eventually(t, waitLimit, func() string {
		var crb rbacv1.ClusterRoleBinding
		if err := op.Client.Get(ctx, client.ObjectKey{Name: "scim-crb-payments-view-all-0"}, &crb); err != nil {
			return "ClusterRoleBinding with the Group subject; last state: " + err.Error()
		}
		ok := len(crb.Subjects) == 1 && crb.Subjects[0].Kind == rbacv1.GroupKind && crb.Subjects[0].Name == "idp:payments" &&
			crb.Labels[rolebinding.LabelBindingUID] == string(wide.UID)
		return testharness.Unless(ok, "ClusterRoleBinding with the Group subject", crb.String())
	})

	// Deleting the ScimEndpoint revokes every grant made from its groups.
	var epObj scimv1.ScimEndpoint
	_ = op.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: "okta"}, &epObj)
	if err := op.Client.Delete(ctx, &epObj); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, string(sel.UID), "")
	testharness.Eventually(t, waitLimit, func() string {
		err := op.Client.Get(ctx, client.ObjectKey{Name: "scim-crb-payments-view-all-0"}, &rbacv1.ClusterRoleBinding{})
		return testharness.Unless(apierrors.IsNotFound(err), "cluster-wide grant revoked", "still there")
	})
	for _, b := range []client.Object{sel, wide} {
		if err := op.Client.Delete(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConnectionTestLeavesNothing replays JumpCloud's "test connection":
// create a user and a group, bind, delete both. No RoleBinding and no
// finalizer may stay behind.
func TestConnectionTestLeavesNothing(t *testing.T) {
	ctx := context.Background()
	ep := op.NewEndpoint(t, "rbac-jumpcloud", "jumpcloud")
	user := createUser(t, ep, "jc-test-user@example.com")
	group := createGroup(t, ep, "jc-test-group", user)
	b := bind(t, ep.Namespace, "jc", "jumpcloud", "jc-test-group", view)
	_ = op.Client.Get(ctx, client.ObjectKeyFromObject(b), b)
	wantSubjects(t, string(b.UID), ep.Namespace, "jc-test-user@example.com")

	for _, path := range []string{"/Users/" + user, "/Groups/" + group} {
		if resp := ep.Do(t, "DELETE", path, nil); resp.Status != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", path, resp.Status, resp.Body)
		}
	}
	wantSubjects(t, string(b.UID), "")
	testharness.Eventually(t, waitLimit, func() string {
		errU := op.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: user}, &scimv1.ScimUser{})
		errG := op.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: group}, &scimv1.ScimGroup{})
		var shards scimv1.ScimMembershipList
		_ = op.Client.List(ctx, &shards, client.InNamespace(ep.Namespace))
		return testharness.Unless(apierrors.IsNotFound(errU) && apierrors.IsNotFound(errG) && len(shards.Items) == 0, "user, group and shards fully gone", "user or group or shards still present (a finalizer held?)")
	})
	if err := op.Client.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, waitLimit, func() string {
		err := op.Client.Get(ctx, client.ObjectKeyFromObject(b), &scimv1.ScimRoleBinding{})
		return testharness.Unless(apierrors.IsNotFound(err), "binding gone", "binding still present")
	})
	var rbs rbacv1.RoleBindingList
	if err := op.Client.List(ctx, &rbs, client.InNamespace(ep.Namespace)); err != nil {
		t.Fatal(err)
	}
	if len(rbs.Items) != 0 {
		t.Errorf("%d RoleBindings left behind", len(rbs.Items))
	}
}
