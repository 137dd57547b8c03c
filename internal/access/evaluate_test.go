package access

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
)

// fixture is a ScimRoleBinding "devs" in namespace team granting view to
// group g-devs ("devs") of endpoint team/okta, as load would read it, with
// one RoleBinding holding subjects.
type fixture struct {
	kind     scimv1.SubjectKind
	ready    *metav1.Condition
	held     bool
	subjects []rbacv1.Subject
	// elsewhere: the RoleBinding is in namespace old, no longer a target.
	elsewhere bool
}

func (f fixture) binding() *bindingInfo {
	rb := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "devs", UID: "uid"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "devs"},
			RoleRef:  scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			Subjects: scimv1.Subjects{Kind: f.kind, UserAttribute: scimv1.UserAttributeUserName, Prefix: "oidc:"}}}
	if f.ready != nil {
		rb.Status.Conditions = []metav1.Condition{*f.ready}
	}
	d, _ := rolebinding.Describe(rb)
	ep := &endpointData{key: client.ObjectKey{Namespace: "team", Name: "okta"}, ep: &scimv1.ScimEndpoint{},
		groups:     map[string]*scimv1.ScimGroup{"g-devs": {ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "g-devs"}, Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: "devs"}}},
		userGroups: map[string][]string{"alice": {"g-devs"}, "root": {"g-devs"}}}
	if f.held {
		ep.ep.Status.Conditions = []metav1.Condition{{Type: scimv1.ConditionDeprovisioningHeld, Status: metav1.ConditionTrue}}
	}
	b := &bindingInfo{obj: rb, d: d, ref: ObjectRef{Kind: d.Kind, Namespace: "team", Name: "devs"}, ep: ep,
		places: []place{{grant: d.Grants[0], namespaces: []string{"team"}}}}
	b.group = b.boundGroup()
	ns := "team"
	if f.elsewhere {
		ns = "old"
	}
	b.rbs = []rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scim-rb-devs-0"}, Subjects: f.subjects}}
	return b
}

func user(id, userName string, active bool) *scimv1.ScimUser {
	return &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: id},
		Spec: scimv1.ScimUserSpec{Endpoint: "okta", UserName: userName, Active: active}}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

var bound = &metav1.Condition{Type: scimv1.ConditionReady, Status: metav1.ConditionTrue, Reason: rolebinding.ReasonBound}

// TestUserAccessStates: what a binding grants one user, compared with what
// its RoleBinding holds, in every state and with the reason a person needs.
func TestUserAccessStates(t *testing.T) {
	alice, inactive := user("alice", "alice", true), user("alice", "alice", false)
	cases := []struct {
		reason string
		f      fixture
		u      *scimv1.ScimUser
		// want is "<state> <RoleBinding> <subject>"; why a part of the reason.
		want []string
		why  string
	}{
		{"an active member in the RoleBinding is granted",
			fixture{ready: bound, subjects: []rbacv1.Subject{userSubject("oidc:alice")}}, alice,
			[]string{"Granted scim-rb-devs-0 User oidc:alice"}, ""},
		{"an active member missing from it is pending",
			fixture{ready: bound}, alice, []string{"Pending - User oidc:alice"}, "not applied yet"},
		{"before the binding's first pass, pending too",
			fixture{}, alice, []string{"Pending - User oidc:alice"}, "not been reconciled"},
		{"an inactive member still in it is being revoked",
			fixture{ready: bound, subjects: []rbacv1.Subject{userSubject("oidc:alice")}}, inactive,
			[]string{"Revoking scim-rb-devs-0 User oidc:alice"}, "inactive; not applied yet"},
		{"the deprovisioning guard holding is the reason",
			fixture{ready: bound, held: true, subjects: []rbacv1.Subject{userSubject("oidc:alice")}}, inactive,
			[]string{"Revoking scim-rb-devs-0 User oidc:alice"}, "held by the deprovisioning guard of ScimEndpoint team/okta"},
		{"an inactive member out of it is not granted",
			fixture{ready: bound}, inactive, []string{"NotGranted - User oidc:alice"}, "the user is inactive"},
		{"a non-member still in it is being revoked",
			fixture{ready: bound, subjects: []rbacv1.Subject{userSubject("oidc:bob")}}, user("bob", "bob", true),
			[]string{"Revoking scim-rb-devs-0 User oidc:bob"}, "not a member of the group"},
		{"a non-member out of it is not listed",
			fixture{ready: bound}, user("bob", "bob", true), nil, ""},
		{"a refused binding grants nothing, and says why",
			fixture{ready: &metav1.Condition{Type: scimv1.ConditionReady, Status: metav1.ConditionFalse,
				Reason: rolebinding.ReasonRoleNotAllowed, Message: "not on the allow-list"}}, alice,
			[]string{"NotGranted - User oidc:alice"}, "RoleNotAllowed: not on the allow-list"},
		{"an unsafe subject name is skipped",
			fixture{ready: bound}, user("root", "system:admin", true),
			[]string{"NotGranted - User system:admin"}, `the subject name "system:admin" is unsafe`},
		{"a RoleBinding left in a namespace no longer targeted is being revoked",
			fixture{ready: bound, elsewhere: true, subjects: []rbacv1.Subject{userSubject("oidc:alice")}}, alice,
			[]string{"Revoking scim-rb-devs-0 User oidc:alice", "Pending - User oidc:alice"}, "no longer a target"},
		{"a Group subject grants an active member",
			fixture{kind: scimv1.SubjectGroup, ready: bound, subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "oidc:devs"}}}, alice,
			[]string{"Granted scim-rb-devs-0 Group oidc:devs"}, ""},
		{"a Group subject stays for the others when a member is deactivated",
			fixture{kind: scimv1.SubjectGroup, ready: bound, subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "oidc:devs"}}}, inactive,
			[]string{"NotGranted scim-rb-devs-0 Group oidc:devs"}, "token must no longer carry the group"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			b := tc.f.binding()
			if tc.u.Spec.UserName == "system:admin" {
				b.d.Subjects.Prefix = "" // a prefix would make any name safe
			}
			got := b.userAccess(tc.u)
			var states []string
			for _, a := range got {
				states = append(states, fmt.Sprintf("%s %s %s %s", a.State, childText(a.RoleBinding), a.SubjectKind, a.Subject))
			}
			if d := cmp.Diff(tc.want, states); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if len(got) > 0 && !strings.Contains(got[0].Reason, tc.why) {
				t.Errorf("reason %q, want it to say %q", got[0].Reason, tc.why)
			}
		})
	}
}

// TestAccessAtNamesSubjectsWithoutUser: the namespace view lists, beside
// the users, a subject in the RoleBinding that no user of the endpoint has.
func TestAccessAtNamesSubjectsWithoutUser(t *testing.T) {
	b := fixture{ready: bound, subjects: []rbacv1.Subject{userSubject("oidc:alice"), userSubject("oidc:ghost")}}.binding()
	var got []string
	for _, a := range b.allAccess([]*scimv1.ScimUser{user("alice", "alice", true)}, func(string) bool { return true }) {
		name := "-"
		if a.User != nil {
			name = a.User.ID
		}
		got = append(got, fmt.Sprintf("%s %s %s", a.Subject, name, a.State))
	}
	want := []string{"oidc:alice alice Granted", "oidc:ghost - Revoking"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
