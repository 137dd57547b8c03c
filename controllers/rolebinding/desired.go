package rolebinding

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Labels and annotations on the RoleBindings and ClusterRoleBindings the
// operator owns. Cross-namespace children cannot carry owner references, so
// these identify the source binding and finalizers clean them up.
const (
	LabelBindingUID      = "scim.scim-operator.io/binding-uid"
	AnnotationBinding    = "scim.scim-operator.io/binding"
	Finalizer            = "scim.scim-operator.io/rbac-cleanup"
	FieldOwner           = client.FieldOwner("scim-operator-rbac")
	singleShardMaxMember = 1000
	// Shards is the number of RoleBindings a group larger than 1,000 subjects
	// is spread over, by a hash of the subject name, so one membership change
	// rewrites one shard. 64 shards keep 50,000 subjects near 60 KiB each.
	Shards = 64
)

// maxSubjectName bounds a subject name: far above any real username or
// group claim, far below what would bloat a RoleBinding.
const maxSubjectName = 512

// SafeSubjectName reports whether the operator may write name as an RBAC
// subject. The identity provider chooses the attribute values names are
// built from; it must never choose a principal Kubernetes reserves
// (system:anonymous, system:authenticated, system:serviceaccount:...), nor a
// name with control characters or of unbounded length.
func SafeSubjectName(name string) bool {
	if name == "" || len(name) > maxSubjectName || strings.HasPrefix(strings.ToLower(name), "system:") {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// UserSubject names a user's RBAC subject after the configured attribute, or
// returns "" when the user has no such value. The name may be unsafe
// (SafeSubjectName): such a user is skipped.
func UserSubject(u *scimv1.ScimUser, s scimv1.Subjects) string {
	var v string
	switch s.UserAttribute {
	case scimv1.UserAttributeEmail:
		v = u.Spec.PrimaryEmail()
	case scimv1.UserAttributeExternalID:
		v = u.Spec.ExternalID
	default:
		v = u.Spec.UserName
	}
	if v == "" {
		return ""
	}
	return s.Prefix + v
}

// GroupSubject names a Group subject after the configured attribute, or
// returns "" when the group has no such value.
func GroupSubject(g *scimv1.ScimGroup, s scimv1.Subjects) string {
	v := g.Spec.DisplayName
	if s.GroupAttribute == scimv1.GroupAttributeExternalID {
		v = g.Spec.ExternalID
	}
	if v == "" {
		return ""
	}
	return s.Prefix + v
}

// subjectShards are the desired subjects split over a grant's children:
// shard n goes to child n, sorted by name, without duplicates. At most 1,000
// subjects share shard 0; more are spread over Shards shards by FNV-1a of the
// name, so one membership change rewrites one child. Empty shards are
// omitted.
type subjectShards map[int][]rbacv1.Subject

// count is the number of subjects over every shard.
func (s subjectShards) count() int {
	n := 0
	for _, ss := range s {
		n += len(ss)
	}
	return n
}

// has reports whether sub is desired. A subject is in the shard of its hash,
// or in shard 0 when there are few: two binary searches, where a set of
// every subject would cost a map of 100,000 entries per pass.
func (s subjectShards) has(sub rbacv1.Subject) bool {
	for _, n := range []int{int(scimstore.FNV1a32(sub.Name) % Shards), 0} {
		ss := s[n]
		i, ok := slices.BinarySearchFunc(ss, sub.Name, func(x rbacv1.Subject, name string) int { return strings.Compare(x.Name, name) })
		if ok && ss[i] == sub {
			return true
		}
	}
	return false
}

// projection is what a pass grants and whom it comes from.
type projection struct {
	shards subjectShards
	// active is the number of active users found, skipped those among them
	// whose subject name is not safe.
	active, skipped int
	// sources are every user found, active or not, by the shard their
	// subject name falls in (Shards: without a name). Only the users of the
	// children a pass wrote are read for the projection lag: a write of
	// anyone else was not applied by it.
	sources [Shards + 1][]*scimv1.ScimUser
}

// desiredSubjects returns the desired subjects — every active user found in
// User mode, or the group itself in Group mode — with the number of active
// users and of those skipped because their subject name is not safe, and
// the users found by shard.
func desiredSubjects(s scimv1.Subjects, group *scimv1.ScimGroup, found []*scimv1.ScimUser, active func(*scimv1.ScimUser) bool) projection {
	p := projection{shards: subjectShards{}}
	if s.Kind == scimv1.SubjectGroup {
		for _, u := range found {
			if active(u) {
				p.active++
			}
		}
		p.sources[0] = found
		name := GroupSubject(group, s)
		if !SafeSubjectName(name) {
			p.skipped = 1
			return p
		}
		p.shards[0] = []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}}
		return p
	}
	// The names are bucketed by hash before they are sorted: 64 sorts of
	// 1,600 names cost less than one of 100,000, and no set is needed to
	// drop duplicates, which always share a bucket.
	var buckets [Shards][]string
	for _, u := range found {
		name := UserSubject(u, s)
		n := Shards
		if name != "" {
			n = int(scimstore.FNV1a32(name) % Shards)
		}
		p.sources[n] = append(p.sources[n], u)
		if !active(u) {
			continue
		}
		p.active++
		if !SafeSubjectName(name) {
			p.skipped++
			continue
		}
		if buckets[n] == nil {
			buckets[n] = make([]string, 0, len(found)/Shards*5/4+1)
		}
		buckets[n] = append(buckets[n], name)
	}
	total := 0
	for n := range buckets {
		slices.Sort(buckets[n])
		buckets[n] = slices.Compact(buckets[n])
		total += len(buckets[n])
	}
	if total == 0 {
		return p
	}
	if total <= singleShardMaxMember {
		names := make([]string, 0, total)
		for _, b := range buckets {
			names = append(names, b...)
		}
		slices.Sort(names)
		p.shards[0] = appendUserSubjects(make([]rbacv1.Subject, 0, total), names)
		return p
	}
	// One array holds every shard; each shard's capacity ends where it
	// does, so appending to one never overwrites the next.
	all := make([]rbacv1.Subject, 0, total)
	for n, b := range buckets {
		if len(b) > 0 {
			from := len(all)
			all = appendUserSubjects(all, b)
			p.shards[n] = all[from:len(all):len(all)]
		}
	}
	return p
}

// appendUserSubjects appends a User subject per name to out.
func appendUserSubjects(out []rbacv1.Subject, names []string) []rbacv1.Subject {
	for _, name := range names {
		out = append(out, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name})
	}
	return out
}

// childName is the stable name of shard n of a grant's children.
func childName(g grant, n int) string { return g.prefix + strconv.Itoa(n) }

func childMeta(b binding, namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: namespace, Name: name,
		Labels: map[string]string{
			scimv1.LabelManagedBy: scimv1.ManagedByValue,
			LabelBindingUID:       string(b.GetUID()),
		},
		Annotations: map[string]string{AnnotationBinding: bindingRef(b)},
	}
}

// bindingRef is "<kind>/<namespace>/<name>" (namespace empty for cluster bindings).
func bindingRef(b binding) string {
	return b.kind() + "/" + b.GetNamespace() + "/" + b.GetName()
}

// desiredRoleBindings builds the RoleBindings of one grant in one target namespace.
func desiredRoleBindings(b binding, g grant, namespace string, shards subjectShards) []*rbacv1.RoleBinding {
	ref := g.roleRef
	out := make([]*rbacv1.RoleBinding, 0, len(shards))
	for n, subjects := range shards {
		rb := &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: childMeta(b, namespace, childName(g, n)),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: ref.Kind, Name: ref.Name},
			Subjects:   subjects,
		}
		setDigest(rb)
		out = append(out, rb)
	}
	return out
}

// desiredClusterRoleBindings builds the ClusterRoleBindings of a cluster-wide grant.
func desiredClusterRoleBindings(b binding, g grant, shards subjectShards) []*rbacv1.ClusterRoleBinding {
	ref := g.roleRef
	out := make([]*rbacv1.ClusterRoleBinding, 0, len(shards))
	for n, subjects := range shards {
		crb := &rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
			ObjectMeta: childMeta(b, "", childName(g, n)),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: ref.Kind, Name: ref.Name},
			Subjects:   subjects,
		}
		setDigest(crb)
		out = append(out, crb)
	}
	return out
}
