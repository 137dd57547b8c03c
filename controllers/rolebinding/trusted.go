package rolebinding

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AnnotationSubjectsDigest records, on each child, a digest of the subjects
// the operator wrote. A child whose subjects no longer match it was changed
// by someone else (a namespace admin may edit RoleBindings of their
// namespace): its subjects are neither counted as revocations nor kept while
// the deprovisioning guard holds, so no one outside the IdP can trip the
// guard or have subjects copied into other children.
const AnnotationSubjectsDigest = "scim.scim-operator.io/subjects-digest"

// subjectsDigest is FNV-1a (64 bit) over the subjects' kinds and names.
func subjectsDigest(subjects []rbacv1.Subject) string {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0
		h *= prime
	}
	for _, s := range subjects {
		add(s.Kind)
		add(s.Name)
	}
	var b [8]byte
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	return hex.EncodeToString(b[:])
}

// placement is one grant of a pass and the namespaces it is granted in
// (none for a cluster-wide grant).
type placement struct {
	grant
	in map[string]bool
}

// childShard returns the shard number of a child named name when it is a
// child name of one of the grants.
func childShard(name string, places []placement) (int, bool) {
	for _, p := range places {
		n, err := strconv.Atoi(strings.TrimPrefix(name, p.prefix))
		if strings.HasPrefix(name, p.prefix) && err == nil && n >= 0 && n < Shards && childName(p.grant, n) == name {
			return n, true
		}
	}
	return 0, false
}

// trustedChild reports whether a child carrying this binding's label is one
// the operator wrote where it would write it: a child name of one of the
// binding's grants, in a namespace of that grant (none for a
// ClusterRoleBinding), with the grant's roleRef, and subjects nobody changed
// since. A RoleBinding that merely copies the label is not trusted.
func trustedChild(o client.Object, places []placement) bool {
	for _, p := range places {
		n, err := strconv.Atoi(strings.TrimPrefix(o.GetName(), p.prefix))
		if !strings.HasPrefix(o.GetName(), p.prefix) || err != nil || n < 0 || n >= Shards || childName(p.grant, n) != o.GetName() {
			continue
		}
		_, isCRB := o.(*rbacv1.ClusterRoleBinding)
		if isCRB != p.target.ClusterWide || (!isCRB && !p.in[o.GetNamespace()]) {
			return false
		}
		ref := p.roleRef
		if roleRefOf(o) != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: ref.Kind, Name: ref.Name}) {
			return false
		}
		return o.GetAnnotations()[AnnotationSubjectsDigest] == subjectsDigest(subjectsOf(o))
	}
	return false
}

// revocations counts the users this pass would take the role from, in the
// children the operator itself wrote: the User subjects no longer desired,
// or, when the Group subject goes, the active members it reached. A child
// whose subjects are those desired for its shard takes nothing away and is
// passed over at the cost of one comparison: a change of one member of a
// large group looks into one child.
func revocations[T child](b binding, desired subjectShards, current []T, places []placement) int {
	gone := map[rbacv1.Subject]bool{}
	for _, c := range current {
		if n, ok := childShard(c.GetName(), places); ok && slices.Equal(subjectsOf(c), desired[n]) {
			continue
		}
		if !trustedChild(c, places) {
			continue
		}
		for _, s := range subjectsOf(c) {
			if !desired.has(s) {
				gone[s] = true
			}
		}
	}
	n := 0
	for s := range gone {
		if s.Kind == rbacv1.GroupKind {
			n += max(1, int(b.status().Members))
		} else {
			n++
		}
	}
	return n
}

// keepTrusted makes want keep what the trusted current children grant, child
// by child, while the deprovisioning guard holds revocations: subjects are
// added but never removed. A subject is kept only in the child that holds
// it, and only if its name is safe.
func keepTrusted[T child](want []T, current []T, places []placement) []T {
	byKey := map[string]T{}
	for _, w := range want {
		byKey[w.GetNamespace()+"/"+w.GetName()] = w
	}
	for _, c := range current {
		if !trustedChild(c, places) {
			continue
		}
		key := c.GetNamespace() + "/" + c.GetName()
		w, ok := byKey[key]
		if !ok {
			w = c.DeepCopyObject().(T)
			setSubjects(w, nil)
			want = append(want, w)
			byKey[key] = w
		}
		merged := slices.Clone(subjectsOf(w))
		have := make(map[rbacv1.Subject]bool, len(merged))
		for _, s := range merged {
			have[s] = true
		}
		for _, s := range subjectsOf(c) {
			if SafeSubjectName(s.Name) && !have[s] {
				have[s] = true
				merged = append(merged, s)
			}
		}
		slices.SortFunc(merged, func(x, y rbacv1.Subject) int { return strings.Compare(x.Name, y.Name) })
		setSubjects(w, merged)
		setDigest(w)
	}
	return want
}

// setDigest records the digest of a desired child's subjects.
func setDigest(o client.Object) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationSubjectsDigest] = subjectsDigest(subjectsOf(o))
	o.SetAnnotations(a)
}
