package access

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
)

// expectation is what a binding should grant one user.
type expectation struct {
	// related: the user is a member of the group, or holds the role.
	related bool
	// subject carries the grant: the user's User subject, or the group's.
	subject subjectKey
	// why the user gets nothing ("" when they should be granted).
	why string
	// userWhy: why is about the user, not the grant; a Group subject stays
	// for the other members.
	userWhy bool
}

// subjectFor is the subject through which u would be granted.
func (b *bindingInfo) subjectFor(u *scimv1.ScimUser) subjectKey {
	if b.d.Subjects.Kind == scimv1.SubjectGroup {
		return b.groupSubject()
	}
	return subjectKey{kind: rbacv1.UserKind, name: rolebinding.UserSubject(u, b.d.Subjects)}
}

// groupSubject is the Group subject of a binding of kind Group.
func (b *bindingInfo) groupSubject() subjectKey {
	if b.group == nil {
		return subjectKey{kind: rbacv1.GroupKind}
	}
	return subjectKey{kind: rbacv1.GroupKind, name: rolebinding.GroupSubject(b.group, b.d.Subjects)}
}

// grantWhy is why the binding grants nothing to subject, "" when it grants.
func (b *bindingInfo) grantWhy(subject subjectKey) string {
	if r := b.refusal(); r != "" {
		return r
	}
	if b.d.Entitlement == "" && b.group == nil {
		return "the group does not exist"
	}
	if !rolebinding.SafeSubjectName(subject.name) {
		return fmt.Sprintf("the subject name %q is unsafe (empty, system:, control characters or too long): skipped", subject.name)
	}
	return ""
}

// expect says what the binding should grant u.
func (b *bindingInfo) expect(u *scimv1.ScimUser) expectation {
	e := expectation{subject: b.subjectFor(u)}
	if u.Namespace != b.d.Endpoint.Namespace || u.Spec.Endpoint != b.d.Endpoint.Name {
		e.why = "a user of another endpoint"
		return e
	}
	if b.d.Entitlement != "" {
		e.related = u.Spec.Granted(b.d.Entitlement)
	} else {
		e.related = b.group != nil && b.ep.isMember(u.Name, b.group.Name)
	}
	switch {
	case !e.related && b.d.Entitlement != "":
		e.why = "the user no longer holds the role " + b.d.Entitlement
	case !e.related:
		e.why = "the user is not a member of the group"
	case b.grantWhy(e.subject) != "":
		e.why = b.grantWhy(e.subject)
	case !u.DeletionTimestamp.IsZero():
		e.why, e.userWhy = "the user is being deleted", true
	case !u.Spec.Active:
		e.why, e.userWhy = "the user is inactive", true
	case b.d.Entitlement != "" && !u.RolesCurrent():
		e.why, e.userWhy = "the user was reactivated: its roles count once the identity provider sends them again", true
	}
	return e
}

// row builds the Access of one subject at one location.
func (b *bindingInfo) row(p place, ns string, subject subjectKey, u *scimv1.ScimUser) Access {
	a := Access{Binding: b.ref, Entitlement: b.d.Entitlement, Role: p.grant.RoleRef, Namespace: ns,
		SubjectKind: subject.kind, Subject: subject.name}
	if b.group != nil {
		a.Group = groupRef(b.group)
	}
	if u != nil {
		a.User = userRef(u)
	}
	return a
}

// settle sets the state of a row from whether the subject should be there
// and is.
func (b *bindingInfo) settle(a *Access, should, has bool, why string) {
	switch {
	case should && has:
		a.State = Granted
	case should:
		a.State, a.Reason = Pending, b.pendingWhy()
	case has:
		a.State, a.Reason = Revoking, why
		if b.ep.held() {
			a.Reason += fmt.Sprintf("; revocations are held by the deprovisioning guard of ScimEndpoint %s", b.ep.key)
		} else {
			a.Reason += "; not applied yet"
		}
	default:
		a.State, a.Reason = NotGranted, why
	}
}

// pendingWhy is why a grant that should be in place is not.
func (b *bindingInfo) pendingWhy() string {
	c := b.ready()
	switch {
	case c == nil:
		return "the binding has not been reconciled yet"
	case c.Reason == rolebinding.ReasonConflict:
		return c.Message
	}
	return "not applied yet"
}

// userAccess is what the binding grants u, or should, or still does,
// at each location; nothing when u is unrelated and holds nothing.
func (b *bindingInfo) userAccess(u *scimv1.ScimUser) []Access {
	e := b.expect(u)
	var out []Access
	for _, p := range b.places {
		for _, ns := range b.locations(p) {
			ref, has := b.holder(p.grant, ns, e.subject)
			if !e.related && (!has || e.subject.kind == rbacv1.GroupKind) {
				continue
			}
			a := b.row(p, ns, e.subject, u)
			a.RoleBinding = ref
			why := e.why
			if why == "" && !p.targets(ns) {
				why = "no longer a target of the binding"
			}
			if e.subject.kind == rbacv1.GroupKind && e.userWhy {
				a.State = NotGranted
				a.Reason = why + "; the Group subject stays for the other members: the user's token must no longer carry the group"
			} else {
				b.settle(&a, why == "", has, why)
			}
			out = append(out, a)
		}
	}
	return out
}

// allAccess is every subject the binding grants, should grant or still
// grants at the locations keep accepts: the users among users (every user
// of the endpoint) and the subjects no user has.
func (b *bindingInfo) allAccess(users []*scimv1.ScimUser, keep func(ns string) bool) []Access {
	var out []Access
	for _, p := range b.places {
		for _, ns := range b.locations(p) {
			if keep(ns) {
				out = append(out, b.accessAt(p, ns, users)...)
			}
		}
	}
	return out
}

// accessAt is allAccess at one location.
func (b *bindingInfo) accessAt(p place, ns string, users []*scimv1.ScimUser) []Access {
	present := b.subjectsAt(p.grant, ns)
	seen := map[subjectKey]bool{}
	var out []Access
	add := func(subject subjectKey, u *scimv1.ScimUser, should bool, why string) {
		_, has := present[subject]
		if !should && !has {
			return
		}
		if why == "" && !p.targets(ns) {
			should, why = false, "no longer a target of the binding"
		}
		a := b.row(p, ns, subject, u)
		a.RoleBinding = present[subject]
		if !has {
			a.RoleBinding = ObjectRef{Kind: childKind(ns), Namespace: ns}
		}
		b.settle(&a, should, has, why)
		out = append(out, a)
		seen[subject] = true
	}
	if b.d.Subjects.Kind == scimv1.SubjectGroup {
		if subject := b.groupSubject(); b.group != nil {
			add(subject, nil, b.grantWhy(subject) == "", b.grantWhy(subject))
		}
	} else {
		for _, u := range users {
			e := b.expect(u)
			if e.related || present[e.subject] != (ObjectRef{}) {
				add(e.subject, u, e.related && e.why == "", e.why)
			}
		}
	}
	for subject := range present {
		if !seen[subject] {
			add(subject, nil, false, "no user of the endpoint has this subject, or not through this binding")
		}
	}
	return out
}

func childKind(ns string) string {
	if ns == "" {
		return "ClusterRoleBinding"
	}
	return "RoleBinding"
}
