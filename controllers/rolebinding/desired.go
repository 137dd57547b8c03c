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

// desiredSubjects returns the sorted, de-duplicated subjects — every active
// member user in User mode, or the group itself in Group mode — and the
// number of members skipped because their subject name is not safe.
func desiredSubjects(s scimv1.Subjects, group *scimv1.ScimGroup, activeMembers []*scimv1.ScimUser) ([]rbacv1.Subject, int) {
	if s.Kind == scimv1.SubjectGroup {
		name := GroupSubject(group, s)
		if !SafeSubjectName(name) {
			return nil, 1
		}
		return []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}}, 0
	}
	// Sorting the names and dropping adjacent duplicates costs a fraction of
	// a set of 100,000 strings and of sorting the subjects themselves.
	names := make([]string, 0, len(activeMembers))
	skipped := 0
	for _, u := range activeMembers {
		name := UserSubject(u, s)
		if !SafeSubjectName(name) {
			skipped++
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return nil, skipped
	}
	out := make([]rbacv1.Subject, len(names))
	for i, name := range names {
		out[i] = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
	}
	return out, skipped
}

// shardSubjects splits subjects over RoleBindings: one when there are at most
// 1,000, else 64 by hash of the name. Empty shards are omitted.
func shardSubjects(subjects []rbacv1.Subject) map[int][]rbacv1.Subject {
	shards := map[int][]rbacv1.Subject{}
	if len(subjects) == 0 {
		return shards
	}
	if len(subjects) <= singleShardMaxMember {
		shards[0] = subjects
		return shards
	}
	for _, s := range subjects {
		n := int(fnv32a(s.Name) % Shards)
		if shards[n] == nil {
			shards[n] = make([]rbacv1.Subject, 0, len(subjects)/Shards*5/4)
		}
		shards[n] = append(shards[n], s)
	}
	return shards
}

// fnv32a is hash/fnv's FNV-1a of s, without a hasher and a byte slice per call.
func fnv32a(s string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= prime
	}
	return h
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
func desiredRoleBindings(b binding, g grant, namespace string, shards map[int][]rbacv1.Subject) []*rbacv1.RoleBinding {
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
func desiredClusterRoleBindings(b binding, g grant, shards map[int][]rbacv1.Subject) []*rbacv1.ClusterRoleBinding {
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
