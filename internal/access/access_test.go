package access_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/access"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

var view = scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}

// team is one test's namespace: endpoint okta with alice and bob in group
// k8s-viewers (id g-viewers), bound to view by ScimRoleBinding viewers;
// carol holds the SCIM role role, an entitlement granting view cluster-wide
// (named uniquely: its ClusterRoleBinding is cluster-scoped); TenantApp wiki
// receives the members of k8s-viewers.
type team struct {
	ns, role string
	viewers  *scimv1.ScimRoleBinding
}

var oidc = scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName, Prefix: "oidc:"}

func seedTeam(t *testing.T) team {
	t.Helper()
	ctx := context.Background()
	ns, role := testharness.SeedNamespace(t, k8s), testharness.UniqueName("viewer")
	testharness.SeedEndpoint(t, k8s, ns, "okta")
	testharness.SeedUser(t, k8s, ns, "okta", "alice", "alice@example.com", true)
	testharness.SeedUser(t, k8s, ns, "okta", "bob", "bob@example.com", true)
	testharness.SeedUser(t, k8s, ns, "okta", "carol", "carol@example.com", true, func(u *scimv1.ScimUser) {
		u.Spec.Roles = []scimv1.MultiValuedAttribute{{Value: role}}
	})
	testharness.SeedGroup(t, k8s, ns, "okta", "g-viewers", "k8s-viewers", "alice", "bob")
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "k8s-viewers"},
			RoleRef: view, Subjects: oidc}}
	create(t, b)
	e := &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role},
		Spec: scimv1.ScimEntitlementSpec{Endpoint: "okta", DisplayName: "Cluster viewer", Subjects: oidc,
			Grants: []scimv1.EntitlementGrant{{RoleRef: view, BindingTarget: scimv1.BindingTarget{ClusterWide: true}}}}}
	create(t, e)
	create(t, &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wiki"},
		Spec: scimv1.TenantAppSpec{Endpoint: "okta", Scope: scimv1.TenantScope{Groups: []string{"k8s-viewers"}},
			Database: scimv1.TenantDatabase{ConnectionSecretRef: scimv1.SecretKeyReference{Name: "wiki-db", Key: "dsn"}}}})
	testharness.WantBoundSubjects(t, k8s, settle, string(b.UID), ns, "oidc:alice@example.com", "oidc:bob@example.com")
	testharness.Eventually(t, settle, func() string {
		var list rbacv1.ClusterRoleBindingList
		if err := k8s.List(ctx, &list, client.MatchingLabels{rolebinding.LabelBindingUID: string(e.UID)}); err != nil {
			return err.Error()
		}
		got := ""
		for _, crb := range list.Items {
			for _, s := range crb.Subjects {
				got += s.Name
			}
		}
		return testharness.Unless(got == "oidc:carol@example.com", "carol is granted view cluster-wide", got)
	})
	return team{ns: ns, role: role, viewers: b}
}

func create(t *testing.T, o client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), o); err != nil {
		t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func inspector() *access.Inspector { return &access.Inspector{Client: k8s} }

// rows renders access rows in one line each, for cmp.Diff.
func rows(as []access.Access) []string {
	out := []string{}
	for _, a := range as {
		user := "-"
		if a.User != nil {
			user = fmt.Sprintf("%s active=%t", a.User.UserName, a.User.Active)
		}
		out = append(out, fmt.Sprintf("%s | %s | %s | %s/%s | %s %s | %s | %s | %s",
			a.Where(), a.Binding, a.Via(), a.Role.Kind, a.Role.Name, a.SubjectKind, a.Subject, user, a.RoleBinding, a.State))
	}
	return out
}

// TestUserNamesGroupBindingAndRoleBinding: the user report of an active
// member names the user, the group, the binding, the RoleBinding holding
// the user's subject, and the TenantApp that should hold an active row.
func TestUserNamesGroupBindingAndRoleBinding(t *testing.T) {
	tm := seedTeam(t)
	r, err := inspector().User(context.Background(), access.Query{Name: "alice@example.com", Namespace: tm.ns})
	if err != nil {
		t.Fatal(err)
	}
	if !r.User.Active || r.User.ID != "alice" || r.User.Endpoint != "okta" {
		t.Errorf("user = %+v, want active alice of okta", r.User)
	}
	if len(r.Groups) != 1 || r.Groups[0].DisplayName != "k8s-viewers" || r.Groups[0].ID != "g-viewers" {
		t.Errorf("groups = %+v, want k8s-viewers (g-viewers)", r.Groups)
	}
	want := []string{fmt.Sprintf("%s | ScimRoleBinding/%[1]s/viewers | group k8s-viewers | ClusterRole/view | User oidc:alice@example.com | alice@example.com active=true | RoleBinding/%[1]s/scim-rb-viewers-0 | Granted", tm.ns)}
	if d := cmp.Diff(want, rows(r.Access)); d != "" {
		t.Errorf("access (-want +got):\n%s", d)
	}
	if len(r.TenantApps) != 1 || !r.TenantApps[0].InScope || r.TenantApps[0].Row != "Active" || r.TenantApps[0].Note != "" {
		t.Errorf("tenant apps = %+v, want wiki in scope with an active row", r.TenantApps)
	}
}

// TestDeactivatedUserIsInactiveAndAbsent: once a member is deactivated
// the operator takes its subject out of the RoleBinding, and the report
// says the user is inactive, holds nothing, why, and keeps an inactive
// tenant row; the namespace report no longer lists it.
func TestDeactivatedUserIsInactiveAndAbsent(t *testing.T) {
	tm := seedTeam(t)
	testharness.EditUser(t, k8s, client.ObjectKey{Namespace: tm.ns, Name: "bob"}, func(u *scimv1.ScimUser) { u.Spec.Active = false })
	testharness.WantBoundSubjects(t, k8s, settle, string(tm.viewers.UID), tm.ns, "oidc:alice@example.com")

	r, err := inspector().User(context.Background(), access.Query{Name: "bob", Namespace: tm.ns})
	if err != nil {
		t.Fatal(err)
	}
	if r.User.Active || r.DeactivatedAt == "" {
		t.Errorf("user = %+v deactivated at %q, want inactive with a deactivation time", r.User, r.DeactivatedAt)
	}
	want := []string{fmt.Sprintf("%s | ScimRoleBinding/%[1]s/viewers | group k8s-viewers | ClusterRole/view | User oidc:bob@example.com | bob@example.com active=false | - | NotGranted", tm.ns)}
	if d := cmp.Diff(want, rows(r.Access)); d != "" {
		t.Errorf("access (-want +got):\n%s", d)
	}
	if !strings.Contains(r.Access[0].Reason, "inactive") {
		t.Errorf("reason = %q, want it to say the user is inactive", r.Access[0].Reason)
	}
	if len(r.TenantApps) != 1 || r.TenantApps[0].Row != "Inactive" {
		t.Errorf("tenant apps = %+v, want wiki with an inactive row", r.TenantApps)
	}

	n, err := inspector().Namespace(context.Background(), tm.ns)
	if err != nil {
		t.Fatal(err)
	}
	// Cluster-wide grants reach every namespace, also the other tests' ones.
	var ours []access.Access
	for _, a := range n.Access {
		if a.Binding.Namespace == tm.ns {
			ours = append(ours, a)
		}
	}
	want = []string{
		fmt.Sprintf("(cluster) | ScimEntitlement/%s/%s | role %[2]s | ClusterRole/view | User oidc:carol@example.com | carol@example.com active=true | ClusterRoleBinding/scim-en-%[2]s-0-0 | Granted", tm.ns, tm.role),
		fmt.Sprintf("%s | ScimRoleBinding/%[1]s/viewers | group k8s-viewers | ClusterRole/view | User oidc:alice@example.com | alice@example.com active=true | RoleBinding/%[1]s/scim-rb-viewers-0 | Granted", tm.ns),
	}
	if d := cmp.Diff(want, rows(ours)); d != "" {
		t.Errorf("who-can (-want +got):\n%s", d)
	}
}

// TestGroupListsWhatItGrants: the group report counts the members and
// lists the binding, its role and namespace, the generated RoleBinding and
// the TenantApp scoped to the group.
func TestGroupListsWhatItGrants(t *testing.T) {
	tm := seedTeam(t)
	r, err := inspector().Group(context.Background(), access.Query{Name: "K8S-Viewers", Namespace: tm.ns})
	if err != nil {
		t.Fatal(err)
	}
	if r.Group.ID != "g-viewers" || r.Members != 2 || r.ActiveMembers != 2 {
		t.Errorf("group = %+v, %d members (%d active), want g-viewers with 2 active", r.Group, r.Members, r.ActiveMembers)
	}
	wantGrants := []access.GroupGrant{{Binding: access.ObjectRef{Kind: "ScimRoleBinding", Namespace: tm.ns, Name: "viewers"},
		Role: view, SubjectKind: "User", Namespaces: []string{tm.ns}, Ready: "True (Bound)", Granted: 2}}
	if d := cmp.Diff(wantGrants, r.Grants); d != "" {
		t.Errorf("grants (-want +got):\n%s", d)
	}
	wantRBs := []access.Generated{{ObjectRef: access.ObjectRef{Kind: "RoleBinding", Namespace: tm.ns, Name: "scim-rb-viewers-0"},
		Role: view, Subjects: 2}}
	if d := cmp.Diff(wantRBs, r.RoleBindings); d != "" {
		t.Errorf("role bindings (-want +got):\n%s", d)
	}
	if len(r.TenantApps) != 1 || r.TenantApps[0].TenantApp.Name != "wiki" {
		t.Errorf("tenant apps = %+v, want wiki", r.TenantApps)
	}
}

// TestPendingWhenTheOperatorCannotWrite: a RoleBinding of someone else
// under the operator's name blocks the grant (Conflict); the member's
// grant is Pending, with the binding's reason.
func TestPendingWhenTheOperatorCannotWrite(t *testing.T) {
	tm := seedTeam(t)
	create(t, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tm.ns, Name: "scim-rb-blocked-0"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}})
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tm.ns, Name: "blocked"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{ID: "g-viewers"}, RoleRef: view, Subjects: oidc}}
	create(t, b)
	testharness.Eventually(t, settle, func() string {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(b), b); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(b.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Reason == rolebinding.ReasonConflict, "Ready reason Conflict", fmt.Sprint(c))
	})
	r, err := inspector().User(context.Background(), access.Query{Name: "alice@example.com", Namespace: tm.ns, Endpoint: "okta"})
	if err != nil {
		t.Fatal(err)
	}
	var blocked []access.Access
	for _, a := range r.Access {
		if a.Binding.Name == "blocked" {
			blocked = append(blocked, a)
		}
	}
	if len(blocked) != 1 || blocked[0].State != access.Pending || !strings.Contains(blocked[0].Reason, "does not belong to this binding") {
		t.Errorf("grants of blocked = %+v, want one Pending for the conflict", blocked)
	}
}

// TestLookup: names are compared case-insensitively, ids exactly; a
// userName on two endpoints is ambiguous and the error lists both; an
// unknown name is an error that says so.
func TestLookup(t *testing.T) {
	tm := seedTeam(t)
	testharness.SeedEndpoint(t, k8s, tm.ns, "entra")
	testharness.SeedUser(t, k8s, tm.ns, "entra", "alice-entra", "alice@example.com", true)
	ctx := context.Background()

	_, err := inspector().User(ctx, access.Query{Name: "alice@example.com", Namespace: tm.ns})
	var amb *access.AmbiguousError
	if !errors.As(err, &amb) || len(amb.Matches) != 2 || !strings.Contains(err.Error(), tm.ns+"/entra") || !strings.Contains(err.Error(), tm.ns+"/okta") {
		t.Errorf("ambiguous userName: err = %v, want both endpoints listed", err)
	}
	for _, q := range []access.Query{
		{Name: "ALICE@example.com", Namespace: tm.ns, Endpoint: "okta"},
		{Name: "alice", Namespace: tm.ns},
	} {
		r, err := inspector().User(ctx, q)
		if err != nil || r.User.ID != "alice" {
			t.Errorf("%+v: got %+v, %v; want alice", q, r, err)
		}
	}
	_, err = inspector().User(ctx, access.Query{Name: "nobody@example.com", Namespace: tm.ns})
	var nf *access.NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("unknown user: err = %v, want NotFoundError", err)
	}
	_, err = inspector().Group(ctx, access.Query{Name: "no-such-group", Namespace: tm.ns})
	if !errors.As(err, &nf) {
		t.Errorf("unknown group: err = %v, want NotFoundError", err)
	}
}
