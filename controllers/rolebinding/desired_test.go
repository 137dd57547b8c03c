package rolebinding

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

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
			p := desiredSubjects(tc.s, tc.group, tc.members, everyone)
			shards, skipped := p.shards, p.skipped
			if len(shards) > 1 {
				t.Errorf("%s: %d shards for %d subjects, want one", tc.reason, len(shards), shards.count())
			}
			if diff := cmp.Diff(tc.want, shards[0]); diff != "" {
				t.Errorf("%s: desiredSubjects (-want +got):\n%s", tc.reason, diff)
			}
			if skipped != tc.skipped {
				t.Errorf("%s: skipped %d, want %d", tc.reason, skipped, tc.skipped)
			}
		})
	}
}

func everyone(*scimv1.ScimUser) bool { return true }

// TestSubjectSources: inactive users grant nothing but are sources, each in
// the shard of its subject name, so the lag of a write of one shard is read
// from the users of that shard.
func TestSubjectSources(t *testing.T) {
	var members []*scimv1.ScimUser
	for i := 0; i < 3000; i++ {
		name := fmt.Sprintf("user-%05d", i)
		members = append(members, user(name, name))
	}
	members = append(members, user("nameless", ""))
	inactive := func(u *scimv1.ScimUser) bool { return u.Name != "user-00007" && u.Name != "nameless" }
	p := desiredSubjects(scimv1.Subjects{Kind: scimv1.SubjectUser}, nil, members, inactive)
	if p.active != len(members)-2 || p.shards.count() != len(members)-2 || p.skipped != 0 {
		t.Errorf("active %d, subjects %d, skipped %d; want %d, %d, 0", p.active, p.shards.count(), p.skipped, len(members)-2, len(members)-2)
	}
	if p.shards.has(rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "user-00007"}) {
		t.Error("an inactive user is granted")
	}
	sources := 0
	for n, users := range p.sources {
		for _, u := range users {
			sources++
			want := Shards
			if u.Spec.UserName != "" {
				h := fnv.New32a() // the standard library's, as an oracle
				_, _ = h.Write([]byte(u.Spec.UserName))
				want = int(h.Sum32() % Shards)
			}
			if n != want {
				t.Errorf("source %s is in shard %d, want %d", u.Name, n, want)
			}
		}
	}
	if sources != len(members) {
		t.Errorf("%d sources, want every user found (%d)", sources, len(members))
	}
}

func TestShardSubjects(t *testing.T) {
	byUserName := scimv1.Subjects{Kind: scimv1.SubjectUser}
	var members []*scimv1.ScimUser
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("user-%05d", i)
		members = append(members, user(name, name))
	}
	// Every user twice, in reverse order: the shards are sorted and hold
	// each subject once.
	twice := append(slices.Clone(members), members...)
	slices.Reverse(twice)
	shards := desiredSubjects(byUserName, nil, twice, everyone).shards
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
			if !shards.has(s) {
				t.Fatalf("%s is in shard %d but not found there", s.Name, n)
			}
		}
	}
	if got := shards.count(); got != len(members) {
		t.Errorf("shards hold %d subjects, want %d", got, len(members))
	}
	for _, s := range []rbacv1.Subject{
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "user-99999"},
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "user-00001"},
	} {
		if shards.has(s) {
			t.Errorf("%s %s is not desired but found", s.Kind, s.Name)
		}
	}
	small := desiredSubjects(byUserName, nil, members[:singleShardMaxMember], everyone).shards
	if len(small) != 1 || len(small[0]) != singleShardMaxMember || !slices.IsSortedFunc(small[0], func(x, y rbacv1.Subject) int { return strings.Compare(x.Name, y.Name) }) {
		t.Errorf("%d subjects should stay in shard 0, sorted, got %d shards", singleShardMaxMember, len(small))
	}
	for _, s := range small[0] {
		if !small.has(s) {
			t.Fatalf("%s is in shard 0 but not found there", s.Name)
		}
	}
	if empty := desiredSubjects(byUserName, nil, nil, everyone).shards; len(empty) != 0 {
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
	if n := revocations(b, subjectShards{0: userSubjects("alice")}, current, places); n != 1 {
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

// TestRevocationsAcrossShards: a revocation is a subject no longer desired
// anywhere, not one that moved to another child when the group grew past
// one child.
func TestRevocationsAcrossShards(t *testing.T) {
	b := namespaced{&scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "all", UID: "u3"},
		Spec: scimv1.ScimRoleBindingSpec{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}}}
	g := b.grants()[0]
	places := []placement{{grant: g, in: map[string]bool{"team": true}}}
	byUserName := scimv1.Subjects{Kind: scimv1.SubjectUser}
	var members []*scimv1.ScimUser
	for i := 0; i < 3000; i++ {
		name := fmt.Sprintf("user-%05d", i)
		members = append(members, user(name, name))
	}
	shardsOf := func(users []*scimv1.ScimUser) subjectShards {
		return desiredSubjects(byUserName, nil, users, everyone).shards
	}
	all := desiredRoleBindings(b, g, "team", shardsOf(members))
	few := desiredRoleBindings(b, g, "team", shardsOf(members[:singleShardMaxMember]))
	for _, tc := range []struct {
		reason  string
		desired subjectShards
		current []*rbacv1.RoleBinding
		want    int
	}{
		{"nothing changed", shardsOf(members), all, 0},
		{"one member left", shardsOf(members[1:]), all, 1},
		{"two members left, in different children", shardsOf(append(slices.Clone(members[1:1500]), members[1501:]...)), all, 2},
		{"the group grew past one child: its subjects moved, none was revoked", shardsOf(members[:singleShardMaxMember+1]), few, 0},
		{"the group shrank to one child", shardsOf(members[:singleShardMaxMember]), all, len(members) - singleShardMaxMember},
		{"nothing is desired any more", subjectShards{}, few, singleShardMaxMember},
	} {
		if got := revocations(b, tc.desired, tc.current, places); got != tc.want {
			t.Errorf("%s: revocations %d, want %d", tc.reason, got, tc.want)
		}
	}
}

// TestNewestWriteOfWrittenShards: the lag of a pass is measured from the
// newest write of the group and of the users of the children it wrote.
func TestNewestWriteOfWrittenShards(t *testing.T) {
	b := namespaced{&scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "all", UID: "u4"},
		Spec: scimv1.ScimRoleBindingSpec{RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}}}
	g := b.grants()[0]
	places := []placement{{grant: g, in: map[string]bool{"team": true}}}
	stamped := func(u *scimv1.ScimUser, at string) *scimv1.ScimUser {
		u.Annotations = map[string]string{scimv1.AnnotationLastModified: at}
		return u
	}
	group := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{scimv1.AnnotationLastModified: "2026-12-01T10:00:00.000Z"}}}
	var o outcome
	o.group, o.sources = group, &[Shards + 1][]*scimv1.ScimUser{}
	o.sources[3] = []*scimv1.ScimUser{stamped(user("a", "a"), "2026-12-01T10:00:03.000Z")}
	o.sources[5] = []*scimv1.ScimUser{stamped(user("b", "b"), "2026-12-01T10:00:05.000Z")}
	o.sources[Shards] = []*scimv1.ScimUser{stamped(user("c", ""), "2026-12-01T10:00:01.000Z")}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	for _, tc := range []struct {
		reason  string
		written []string
		want    string
	}{
		{"shard 3 written: its user's write", []string{childName(g, 3)}, "2026-12-01T10:00:03.000Z"},
		{"shards 3 and 5 written: the newer user's write", []string{childName(g, 3), childName(g, 5)}, "2026-12-01T10:00:05.000Z"},
		{"shard 7 written: the group's and the users' without a name, nobody else's", []string{childName(g, 7)}, "2026-12-01T10:00:01.000Z"},
		{"shard 0 written: every user's", []string{childName(g, 0)}, "2026-12-01T10:00:05.000Z"},
		{"a name of no grant: every user's", []string{"someone-else"}, "2026-12-01T10:00:05.000Z"},
	} {
		if got := o.newestWrite(tc.written, places); !got.Equal(at(tc.want)) {
			t.Errorf("%s: newest write %s, want %s", tc.reason, got, tc.want)
		}
	}
}
