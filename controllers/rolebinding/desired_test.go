package rolebinding

import (
	"fmt"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

func user(name, userName string, emails ...string) *scimv1.ScimUser {
	u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: scimv1.ScimUserSpec{UserName: userName}}
	for _, e := range emails {
		u.Spec.Emails = append(u.Spec.Emails, scimv1.MultiValuedAttribute{Value: e})
	}
	return u
}

func userSubjects(names ...string) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, n := range names {
		out = append(out, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n})
	}
	return out
}

func TestDesiredSubjects(t *testing.T) {
	group := &scimv1.ScimGroup{Spec: scimv1.ScimGroupSpec{DisplayName: "admins"}}
	byUserName := scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName, Prefix: "okta:"}
	for _, tc := range []struct {
		reason  string
		s       scimv1.Subjects
		members []*scimv1.ScimUser
		group   *scimv1.ScimGroup
		want    []rbacv1.Subject
		skipped int
	}{
		{"no member grants nothing", byUserName, nil, group, nil, 0},
		{"members are sorted by subject name", byUserName,
			[]*scimv1.ScimUser{user("1", "carol"), user("2", "alice"), user("3", "bob")}, group,
			userSubjects("okta:alice", "okta:bob", "okta:carol"), 0},
		{"two users with one subject name grant it once", byUserName,
			[]*scimv1.ScimUser{user("1", "bob"), user("2", "alice"), user("3", "bob"), user("4", "alice")}, group,
			userSubjects("okta:alice", "okta:bob"), 0},
		{"a user without the attribute is left out and counted", scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeEmail},
			[]*scimv1.ScimUser{user("1", "bob"), user("2", "alice", "alice@example.com")}, group,
			userSubjects("alice@example.com"), 1},
		{"only users without the attribute grant nothing", scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeExternalID},
			[]*scimv1.ScimUser{user("1", "bob")}, group, nil, 1},
		{"group mode grants the group", scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: "okta:"},
			[]*scimv1.ScimUser{user("1", "bob")}, group,
			[]rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "okta:admins"}}, 0},
		{"group mode by externalId names the group after its immutable id",
			scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: "oidc:", GroupAttribute: scimv1.GroupAttributeExternalID},
			nil, &scimv1.ScimGroup{Spec: scimv1.ScimGroupSpec{DisplayName: "renamed", ExternalID: "6c1e2b4a-0000"}},
			[]rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "oidc:6c1e2b4a-0000"}}, 0},
		{"group mode by externalId without one binds nothing",
			scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: "oidc:", GroupAttribute: scimv1.GroupAttributeExternalID},
			nil, group, nil, 1},
		{"reserved user names are never bound, whatever their case", scimv1.Subjects{Kind: scimv1.SubjectUser},
			[]*scimv1.ScimUser{user("1", "system:anonymous"), user("2", "System:serviceaccount:kube-system:default"),
				user("3", "system:masters"), user("4", "ada")}, group,
			userSubjects("ada"), 3},
		{"a group renamed to a reserved group is not bound", scimv1.Subjects{Kind: scimv1.SubjectGroup, Prefix: ""},
			nil, &scimv1.ScimGroup{Spec: scimv1.ScimGroupSpec{DisplayName: "system:authenticated"}}, nil, 1},
		{"control characters and overlong names are skipped", scimv1.Subjects{Kind: scimv1.SubjectUser},
			[]*scimv1.ScimUser{user("1", "ada\nbob"), user("2", "tab\tname"), user("3", strings.Repeat("x", 513)),
				user("4", strings.Repeat("y", 512))}, group,
			userSubjects(strings.Repeat("y", 512)), 3},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			got, skipped := desiredSubjects(tc.s, tc.group, tc.members)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: desiredSubjects (-want +got):\n%s", tc.reason, diff)
			}
			if skipped != tc.skipped {
				t.Errorf("%s: skipped %d, want %d", tc.reason, skipped, tc.skipped)
			}
		})
	}
}

func TestShardSubjects(t *testing.T) {
	var names []string
	for i := 0; i < 5000; i++ {
		names = append(names, fmt.Sprintf("user-%05d", i))
	}
	subjects := userSubjects(names...)
	shards := shardSubjects(subjects)
	total := 0
	for n, ss := range shards {
		if len(ss) == 0 {
			t.Errorf("shard %d is empty but present", n)
		}
		for i, s := range ss {
			// The shard of a subject is fixed by FNV-1a of its name: existing
			// RoleBindings keep their subjects across upgrades.
			h := fnv.New32a()
			_, _ = h.Write([]byte(s.Name))
			if want := int(h.Sum32() % Shards); n != want {
				t.Fatalf("%s is in shard %d, want %d", s.Name, n, want)
			}
			if i > 0 && ss[i-1].Name >= s.Name {
				t.Fatalf("shard %d is not sorted: %s before %s", n, ss[i-1].Name, s.Name)
			}
		}
		total += len(ss)
	}
	if total != len(subjects) {
		t.Errorf("shards hold %d subjects, want %d", total, len(subjects))
	}
	if small := shardSubjects(subjects[:singleShardMaxMember]); len(small) != 1 || len(small[0]) != singleShardMaxMember {
		t.Errorf("%d subjects should stay in shard 0, got %d shards", singleShardMaxMember, len(small))
	}
	if empty := shardSubjects(nil); len(empty) != 0 {
		t.Errorf("no subject should make no shard, got %d", len(empty))
	}
}

// TestTrustedChildren: only the children the operator wrote, where it writes
// them and as it wrote them, count as revocations and are kept while held.
func TestTrustedChildren(t *testing.T) {
	b := clusterScoped{&scimv1.ScimClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "team", UID: "u1"},
		Spec: scimv1.ScimClusterRoleBindingSpec{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"},
			Target: scimv1.BindingTarget{Namespaces: []string{"a", "x"}}}}}
	targets := map[string]bool{"a": true, "x": true}
	g := b.grants()[0]
	places := []placement{{grant: g, in: targets}}
	ours := desiredRoleBindings(b, g, "a", map[int][]rbacv1.Subject{0: userSubjects("alice", "bob")})[0]
	inX := desiredRoleBindings(b, g, "x", map[int][]rbacv1.Subject{0: userSubjects("alice", "bob")})[0]
	tampered := inX.DeepCopy()
	tampered.Subjects = append(tampered.Subjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"})
	forged := inX.DeepCopy()
	forged.Name = "my-own-binding"
	forged.Subjects = tampered.Subjects
	setDigest(forged)
	elsewhere := ours.DeepCopy()
	elsewhere.Namespace = "not-a-target"
	for _, tc := range []struct {
		reason string
		rb     *rbacv1.RoleBinding
		want   bool
	}{
		{"the operator's child in a target namespace", ours, true},
		{"a child whose subjects someone changed", tampered, false},
		{"a RoleBinding that copies the label under another name", forged, false},
		{"a child outside the targets", elsewhere, false},
	} {
		if got := trustedChild(tc.rb, places); got != tc.want {
			t.Errorf("%s: trusted %v, want %v", tc.reason, got, tc.want)
		}
	}
	// Only bob left the group: the tampered and forged children add nothing.
	current := []*rbacv1.RoleBinding{ours, tampered, forged}
	if n := revocations(b, userSubjects("alice"), current, places); n != 1 {
		t.Errorf("revocations %d, want 1 (bob, in the operator's own child)", n)
	}
	// Held: bob stays in namespace a only; nothing of the tampered or forged
	// children is copied anywhere.
	want := desiredRoleBindings(b, g, "a", map[int][]rbacv1.Subject{0: userSubjects("alice")})
	want = append(want, desiredRoleBindings(b, g, "x", map[int][]rbacv1.Subject{0: userSubjects("alice")})...)
	kept := keepTrusted(want, current, places)
	for _, rb := range kept {
		wantSubjects := userSubjects("alice")
		if rb.Namespace == "a" {
			wantSubjects = userSubjects("alice", "bob")
		}
		if diff := cmp.Diff(wantSubjects, rb.Subjects); diff != "" {
			t.Errorf("kept subjects in %s (-want +got):\n%s", rb.Namespace, diff)
		}
		if !trustedChild(rb, places) {
			t.Errorf("a kept child in %s does not carry the digest of its subjects", rb.Namespace)
		}
	}
}

// TestTrustedChildrenOfEntitlements: an entitlement's children are trusted
// only as the grant their name says: its role, in its namespaces.
func TestTrustedChildrenOfEntitlements(t *testing.T) {
	b := entitled{&scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: "idp", Name: "deployer", UID: "u2"},
		Spec: scimv1.ScimEntitlementSpec{Grants: []scimv1.EntitlementGrant{
			{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "edit"}, BindingTarget: scimv1.BindingTarget{Namespaces: []string{"a"}}},
			{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}, BindingTarget: scimv1.BindingTarget{Namespaces: []string{"b"}}},
			{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}, BindingTarget: scimv1.BindingTarget{ClusterWide: true}},
		}}}}
	grants := b.grants()
	places := []placement{{grant: grants[0], in: map[string]bool{"a": true}}, {grant: grants[1], in: map[string]bool{"b": true}},
		{grant: grants[2], in: map[string]bool{}}}
	subjects := map[int][]rbacv1.Subject{0: userSubjects("alice")}
	editInA := desiredRoleBindings(b, grants[0], "a", subjects)[0]
	viewInB := desiredRoleBindings(b, grants[1], "b", subjects)[0]
	wide := desiredClusterRoleBindings(b, grants[2], subjects)[0]
	if editInA.Name != "scim-en-deployer-0-0" || viewInB.Name != "scim-en-deployer-1-0" || wide.Name != "scim-en-deployer-2-0" {
		t.Fatalf("child names %s, %s, %s", editInA.Name, viewInB.Name, wide.Name)
	}
	editInB := desiredRoleBindings(b, grants[0], "b", subjects)[0]
	viewNamedEdit := viewInB.DeepCopy()
	viewNamedEdit.Name, viewNamedEdit.Namespace = editInA.Name, "a"
	for _, tc := range []struct {
		reason string
		o      client.Object
		want   bool
	}{
		{"the first grant's child in its namespace", editInA, true},
		{"the second grant's child in its namespace", viewInB, true},
		{"the cluster-wide grant's ClusterRoleBinding", wide, true},
		{"the first grant's child in the second grant's namespace", editInB, false},
		{"a child named after the first grant with the second grant's role", viewNamedEdit, false},
	} {
		if got := trustedChild(tc.o, places); got != tc.want {
			t.Errorf("%s: trusted %v, want %v", tc.reason, got, tc.want)
		}
	}
}
