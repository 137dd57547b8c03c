package rolebinding_test

import (
	"context"
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

var view = scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}

// seedViewers seeds endpoint okta in a new namespace with alice, bob and carol
// (active), dave (inactive) and erin (active, in no group), and group
// k8s-viewers holding alice, bob, carol and dave. It returns the namespace
// and the group.
func seedViewers(t *testing.T) (string, *scimv1.ScimGroup) {
	t.Helper()
	ns := testharness.SeedNamespace(t, k8s)
	testharness.SeedEndpoint(t, k8s, ns, "okta")
	for _, u := range []struct {
		id     string
		active bool
	}{{"alice", true}, {"bob", true}, {"carol", true}, {"dave", false}, {"erin", true}} {
		testharness.SeedUser(t, k8s, ns, "okta", u.id, u.id+"@example.com", u.active)
	}
	g := testharness.SeedGroup(t, k8s, ns, "okta", "g-viewers", "k8s-viewers", "alice", "bob", "carol", "dave")
	return ns, g
}

// bind creates a ScimRoleBinding of group displayName to role, subjects by
// userName, and returns it as created (with its UID).
func bind(t *testing.T, ns, name, group string, role scimv1.RoleRef) *scimv1.ScimRoleBinding {
	t.Helper()
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: group}, RoleRef: role,
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName}}}
	if err := k8s.Create(context.Background(), b); err != nil {
		t.Fatalf("creating ScimRoleBinding: %v", err)
	}
	return b
}

// owned lists the RoleBindings labelled with the binding uid in ns.
func owned(t *testing.T, uid, ns string) []rbacv1.RoleBinding {
	t.Helper()
	var list rbacv1.RoleBindingList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns),
		client.MatchingLabels{rolebinding.LabelBindingUID: uid}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// wantSubjects waits until the binding's RoleBindings in ns name exactly want.
func wantSubjects(t *testing.T, uid, ns string, want ...string) {
	t.Helper()
	testharness.WantBoundSubjects(t, k8s, settle, uid, ns, want...)
}

// TestBindingFollowsActiveMembers: a binding grants its role to the active
// members of the group; deactivating a member, removing one from the group
// and adding one change the subjects.
func TestBindingFollowsActiveMembers(t *testing.T) {
	ns, g := seedViewers(t)
	b := bind(t, ns, "viewers", "k8s-viewers", view)
	uid := string(b.UID)
	wantSubjects(t, uid, ns, "alice@example.com", "bob@example.com", "carol@example.com")
	for _, rb := range owned(t, uid, ns) {
		if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != "view" {
			t.Errorf("RoleBinding %s grants %s/%s, want ClusterRole/view", rb.Name, rb.RoleRef.Kind, rb.RoleRef.Name)
		}
		for _, s := range rb.Subjects {
			if s.Kind != rbacv1.UserKind {
				t.Errorf("subject %s has kind %s, want User", s.Name, s.Kind)
			}
		}
	}

	testharness.EditUser(t, k8s, client.ObjectKey{Namespace: ns, Name: "bob"}, func(u *scimv1.ScimUser) { u.Spec.Active = false })
	wantSubjects(t, uid, ns, "alice@example.com", "carol@example.com")
	testharness.EditUser(t, k8s, client.ObjectKey{Namespace: ns, Name: "dave"}, func(u *scimv1.ScimUser) { u.Spec.Active = true })
	wantSubjects(t, uid, ns, "alice@example.com", "carol@example.com", "dave@example.com")

	testharness.SetMembers(t, k8s, g, "alice", "bob", "dave", "erin")
	wantSubjects(t, uid, ns, "alice@example.com", "dave@example.com", "erin@example.com")
}

// TestHandEditedRoleBindingIsRepaired: an owned RoleBinding whose subjects
// are edited by hand gets them back, and one deleted by hand comes back.
func TestHandEditedRoleBindingIsRepaired(t *testing.T) {
	ctx := context.Background()
	ns, _ := seedViewers(t)
	uid := string(bind(t, ns, "viewers", "k8s-viewers", view).UID)
	wantSubjects(t, uid, ns, "alice@example.com", "bob@example.com", "carol@example.com")

	rbs := owned(t, uid, ns)
	rb := &rbs[0]
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory@example.com"})
	if err := k8s.Update(ctx, rb); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, uid, ns, "alice@example.com", "bob@example.com", "carol@example.com")

	for i := range rbs {
		if err := k8s.Delete(ctx, &rbs[i]); err != nil {
			t.Fatal(err)
		}
	}
	wantSubjects(t, uid, ns, "alice@example.com", "bob@example.com", "carol@example.com")
}

// TestDeletingTheBindingRemovesItsRoleBindings: the finalizer removes every
// owned RoleBinding before it lets the binding go; envtest has no garbage
// collector, so nothing else would.
func TestDeletingTheBindingRemovesItsRoleBindings(t *testing.T) {
	ctx := context.Background()
	ns, _ := seedViewers(t)
	b := bind(t, ns, "viewers", "k8s-viewers", view)
	uid := string(b.UID)
	wantSubjects(t, uid, ns, "alice@example.com", "bob@example.com", "carol@example.com")
	testharness.Eventually(t, settle, func() string {
		var cur scimv1.ScimRoleBinding
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			return err.Error()
		}
		return testharness.Unless(len(cur.Finalizers) == 1 && cur.Finalizers[0] == rolebinding.Finalizer,
			"the binding carries the cleanup finalizer", fmt.Sprint(cur.Finalizers))
	})

	if err := k8s.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, settle, func() string {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(b), &scimv1.ScimRoleBinding{})
		return testharness.Unless(apierrors.IsNotFound(err), "binding deleted (finalizer released)", fmt.Sprint(err))
	})
	if rbs := owned(t, uid, ns); len(rbs) != 0 {
		t.Errorf("the deleted binding left %d RoleBindings: %v", len(rbs), testharness.BoundSubjects(t, k8s, uid, ns))
	}
}

// TestEntitlementGrantsUsersHoldingTheRole: a ScimEntitlement grants its
// roles to the active users whose spec.roles hold its name; taking the role
// away revokes it.
func TestEntitlementGrantsUsersHoldingTheRole(t *testing.T) {
	ctx := context.Background()
	ns, _ := seedViewers(t)
	deployer := func(u *scimv1.ScimUser) { u.Spec.Roles = []scimv1.MultiValuedAttribute{{Value: "deployer"}} }
	testharness.SeedUser(t, k8s, ns, "okta", "frank", "frank@example.com", true, deployer)
	testharness.SeedUser(t, k8s, ns, "okta", "grace", "grace@example.com", false, deployer)
	testharness.EditUser(t, k8s, client.ObjectKey{Namespace: ns, Name: "alice"}, deployer)
	e := &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"},
		Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "Deployer",
			Grants: []scimv1.EntitlementGrant{{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
				BindingTarget: scimv1.BindingTarget{Namespaces: []string{ns}}}},
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName}}}
	if err := k8s.Create(ctx, e); err != nil {
		t.Fatalf("creating ScimEntitlement: %v", err)
	}
	uid := string(e.UID)
	wantSubjects(t, uid, ns, "alice@example.com", "frank@example.com")
	for _, rb := range owned(t, uid, ns) {
		if rb.RoleRef.Name != "edit" {
			t.Errorf("RoleBinding %s grants %s, want edit", rb.Name, rb.RoleRef.Name)
		}
	}

	testharness.EditUser(t, k8s, client.ObjectKey{Namespace: ns, Name: "frank"}, func(u *scimv1.ScimUser) {
		u.Spec.Roles = nil
		u.Annotations[scimv1.AnnotationRolesSentAt] = scimv1.Stamp()
	})
	wantSubjects(t, uid, ns, "alice@example.com")

	if err := k8s.Delete(ctx, e); err != nil {
		t.Fatal(err)
	}
	testharness.Eventually(t, settle, func() string {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(e), &scimv1.ScimEntitlement{})
		return testharness.Unless(apierrors.IsNotFound(err), "entitlement deleted (finalizer released)", fmt.Sprint(err))
	})
	if rbs := owned(t, uid, ns); len(rbs) != 0 {
		t.Errorf("the deleted entitlement left %d RoleBindings: %v", len(rbs), testharness.BoundSubjects(t, k8s, uid, ns))
	}
}
