package rbac_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestReservedSubjectsAreNeverBound: whatever userName the IdP sends, the
// operator never writes a subject Kubernetes reserves. Before this rule, a
// SCIM user named system:anonymous added to a bound group gave the role to
// every unauthenticated request.
func TestReservedSubjectsAreNeverBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ep := op.NewEndpoint(t, "trust-reserved", "okta")
	ids := []string{
		createUser(t, ep, "system:anonymous"),
		createUser(t, ep, "system:serviceaccount:kube-system:default"),
		createUser(t, ep, "ada@example.com"),
	}
	createGroup(t, ep, "k8s-viewers", ids...)
	b := bind(t, ep.Namespace, "viewers", "okta", "k8s-viewers", view)
	wantSubjects(t, string(b.UID), ep.Namespace, "ada@example.com")
	testharness.Eventually(t, waitLimit, func() string {
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(b), b)
		return testharness.Unless(b.Status.SkippedSubjects == 2 && b.Status.Subjects == 1, "status.skippedSubjects counts the two reserved names", fmt.Sprintf("%+v", b.Status))
	})
	waitEvent(t, ep.Namespace, rolebinding.ReasonUnsafeSubjects)
}

// TestGroupSubjectsNeedAPrefix: in Group mode the IdP names the subject, so
// the API server refuses a binding without a prefix, and a prefix cannot
// itself be a reserved name.
func TestGroupSubjectsNeedAPrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ep := op.NewEndpoint(t, "trust-group-prefix", "okta")
	for _, prefix := range []string{"", "system:"} {
		b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: "g" + strings.TrimSuffix(prefix, ":")},
			Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "admins"}, RoleRef: view,
				Subjects: scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: prefix}}}
		err := op.Client.Create(ctx, b)
		if err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Fatalf("a Group binding with prefix %q: error %v, want a refusal naming the prefix", prefix, err)
		}
	}
	// With a prefix, even a group renamed to system:authenticated stays
	// inside the prefix; bound by externalId, a rename changes nothing.
	u := createUser(t, ep, "grace@example.com")
	gid := createGroupWithExternalID(t, ep, "admins", "0f3c-object-id", u)
	byName := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: "by-name"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "admins"}, RoleRef: view,
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: "oidc:"}}}
	byID := byName.DeepCopy()
	byID.Name, byID.Spec.Subjects.GroupAttribute = "by-id", scimv1.GroupAttributeExternalID
	for _, b := range []*scimv1.ScimRoleBinding{byName, byID} {
		if err := op.Client.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	wantSubjects(t, string(byName.UID), ep.Namespace, "oidc:admins")
	wantSubjects(t, string(byID.UID), ep.Namespace, "oidc:0f3c-object-id")
	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "replace", "path": "displayName", "value": "system:authenticated"})
	wantSubjects(t, string(byName.UID), ep.Namespace, "oidc:system:authenticated")
	wantSubjects(t, string(byID.UID), ep.Namespace, "oidc:0f3c-object-id")
}

// TestEditsTakeEffect: changing a binding's group, role or subjects moves
// the grant. Before, the group id remembered in status overrode spec.group:
// the old group kept the role and Ready stayed True.
func TestEditsTakeEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ep := op.NewEndpoint(t, "trust-edits", "okta")
	a := createUser(t, ep, "alice@example.com")
	bo := createUser(t, ep, "bob@example.com")
	createGroup(t, ep, "team-a", a)
	createGroup(t, ep, "team-b", bo)
	b := bind(t, ep.Namespace, "team", "okta", "team-a", view)
	wantSubjects(t, string(b.UID), ep.Namespace, "alice@example.com")

	edit := func(what string, change func(*scimv1.ScimRoleBinding), check func() string) {
		t.Helper()
		began := time.Now()
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := op.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
				return err
			}
			change(b)
			began = time.Now()
			return op.Client.Update(ctx, b)
		}); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		testharness.Eventually(t, waitLimit, func() string {
			if problem := check(); problem != "" {
				return what + ": " + problem
			}
			return ""
		})
		t.Logf("%s took effect in %v", what, time.Since(began).Round(time.Millisecond))
	}
	same := func(want ...string) func() string {
		return func() string {
			got := subjects(t, string(b.UID), ep.Namespace)
			return testharness.Unless(fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("subjects %v", want), fmt.Sprint(got))
		}
	}
	edit("spec.group team-a → team-b", func(b *scimv1.ScimRoleBinding) { b.Spec.Group.DisplayName = "team-b" },
		same("bob@example.com"))
	edit("spec.subjects.prefix", func(b *scimv1.ScimRoleBinding) { b.Spec.Subjects.Prefix = "oidc:" },
		same("oidc:bob@example.com"))
	edit("spec.roleRef view → edit", func(b *scimv1.ScimRoleBinding) { b.Spec.RoleRef.Name = "edit" },
		func() string {
			var list rbacv1.RoleBindingList
			if err := op.Client.List(ctx, &list, client.InNamespace(ep.Namespace),
				client.MatchingLabels{rolebinding.LabelBindingUID: string(b.UID)}); err != nil {
				t.Fatal(err)
			}
			roles := []string{}
			for _, rb := range list.Items {
				roles = append(roles, rb.RoleRef.Name)
			}
			return testharness.Unless(fmt.Sprint(roles) == "[edit]", "roles [edit]", fmt.Sprint(roles))
		})
	if err := op.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(b.Status.Conditions, scimv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready after the edits: %+v", c)
	}
}

// TestRenameDoesNotMoveTheGrant: an IdP group owner who renames the bound
// group and gives its old name to another group does not move the grant.
func TestRenameDoesNotMoveTheGrant(t *testing.T) {
	t.Parallel()
	ep := op.NewEndpoint(t, "trust-rename", "okta")
	u1 := createUser(t, ep, "carol@example.com")
	u2 := createUser(t, ep, "mallory@example.com")
	gid := createGroup(t, ep, "ops", u1)
	b := bind(t, ep.Namespace, "ops", "okta", "ops", view)
	wantSubjects(t, string(b.UID), ep.Namespace, "carol@example.com")
	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "replace", "path": "displayName", "value": "ops-archived"})
	other := createGroup(t, ep, "ops", u2)
	// A barrier: a member added to the pinned group is granted by a pass
	// that also saw the new group named "ops".
	dave := createUser(t, ep, "dave@example.com")
	patch(t, ep, "/Groups/"+gid, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": dave}}})
	wantSubjects(t, string(b.UID), ep.Namespace, "carol@example.com", "dave@example.com")
	_ = other
}

// TestForeignRoleBindingIsNotAdopted: a RoleBinding someone else created
// under the name the operator would use is left alone and reported, and the
// other namespaces of the binding are still projected and revoked.
func TestForeignRoleBindingIsNotAdopted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ep := op.NewEndpoint(t, "trust-foreign", "okta")
	u := createUser(t, ep, "erin@example.com")
	createGroup(t, ep, "payments", u)
	nsA, nsB := twoNamespaces(t, ep.Namespace)
	foreign := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "scim-crb-trust-foreign-0"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "someone-else"}}}
	if err := op.Client.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	b := &scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "trust-foreign"},
		Spec: scimv1.ScimClusterRoleBindingSpec{
			Endpoint: scimv1.EndpointReference{Namespace: ep.Namespace, Name: "okta"},
			Group:    scimv1.GroupReference{DisplayName: "payments"}, RoleRef: view,
			Target: scimv1.BindingTarget{Namespaces: []string{nsA, nsB}}}}
	if err := op.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Client.Delete(context.Background(), b) })
	wantSubjects(t, string(b.UID), nsA, "erin@example.com")
	testharness.Eventually(t, waitLimit, func() string {
		_ = op.Client.Get(ctx, client.ObjectKeyFromObject(b), b)
		c := meta.FindStatusCondition(b.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Status == metav1.ConditionFalse && c.Reason == rolebinding.ReasonConflict, "Ready=False Conflict", fmt.Sprintf("%+v", c))
	})
	// Revocation in nsA is not blocked by the conflict in nsB.
	patch(t, ep, "/Users/"+u, map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	wantSubjects(t, string(b.UID), nsA)
	var got rbacv1.RoleBinding
	if err := op.Client.Get(ctx, client.ObjectKeyFromObject(foreign), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Subjects) != 1 || got.Subjects[0].Name != "someone-else" || got.Labels[rolebinding.LabelBindingUID] != "" {
		t.Fatalf("the foreign RoleBinding was taken over: %+v %+v", got.Labels, got.Subjects)
	}
}

// createGroupWithExternalID pushes a group with an externalId, as Entra ID does.
func createGroupWithExternalID(t *testing.T, ep *testharness.Endpoint, name, externalID string, members ...string) string {
	t.Helper()
	var ms []any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	resp := ep.Do(t, "POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name,
		"externalId": externalID, "members": ms})
	if resp.Status != 201 {
		t.Fatalf("POST /Groups %s: %d %s", name, resp.Status, resp.Body)
	}
	return resp.JSON(t)["id"].(string)
}

// waitEvent waits for an Event with reason in ns.
func waitEvent(t *testing.T, ns, reason string) {
	t.Helper()
	testharness.Eventually(t, waitLimit, func() string {
		var list eventsv1.EventList
		if err := op.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return "an Event " + reason + "; last state: " + err.Error()
		}
		var reasons []string
		for _, ev := range list.Items {
			if ev.Reason == reason {
				return ""
			}
			reasons = append(reasons, ev.Reason)
		}
		return "an Event " + reason + "; last state: " + fmt.Sprint(reasons)
	})
}

// TestTargetEditMovesTheGrant: changing a ScimClusterRoleBinding's target
// namespaces revokes in the old namespace and grants in the new one.
func TestTargetEditMovesTheGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ep := op.NewEndpoint(t, "trust-target", "okta")
	u := createUser(t, ep, "frank@example.com")
	createGroup(t, ep, "sre", u)
	nsA, nsB := twoNamespaces(t, ep.Namespace)
	b := &scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "trust-target"},
		Spec: scimv1.ScimClusterRoleBindingSpec{
			Endpoint: scimv1.EndpointReference{Namespace: ep.Namespace, Name: "okta"},
			Group:    scimv1.GroupReference{DisplayName: "sre"}, RoleRef: view,
			Target: scimv1.BindingTarget{Namespaces: []string{nsA}}}}
	if err := op.Client.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Client.Delete(context.Background(), b) })
	wantSubjects(t, string(b.UID), nsA, "frank@example.com")
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := op.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		b.Spec.Target.Namespaces = []string{nsB}
		return op.Client.Update(ctx, b)
	}); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, string(b.UID), nsB, "frank@example.com")
	wantSubjects(t, string(b.UID), nsA)
}

// twoNamespaces creates the namespaces <base>-a and <base>-b.
func twoNamespaces(t *testing.T, base string) (string, string) {
	t.Helper()
	for _, ns := range []string{base + "-a", base + "-b"} {
		if err := op.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	return base + "-a", base + "-b"
}
