// Package access answers, from the cluster alone, who has access through
// scim-operator and why: a user's groups and SCIM roles, the ScimRoleBindings,
// ScimClusterRoleBindings and ScimEntitlements that grant them something, the
// RoleBindings and ClusterRoleBindings that carry (or should carry) their
// subject, and the TenantApps whose tables should hold their row. It backs the
// kubectl plugin `kubectl scim` (docs/kubectl.md) and only reads: it computes
// what should be granted with the reconcilers' own rules
// (rolebinding.Describe, tenantapp.ExpectedRow) and compares it with what is.
package access

import (
	"fmt"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// State says whether a grant a user or subject should have is in place.
type State string

// The states of an Access.
const (
	// Granted: the subject is in the RoleBinding and should be.
	Granted State = "Granted"
	// Pending: the subject should be in a RoleBinding and is not yet (the
	// operator has not applied it, or cannot: see the reason).
	Pending State = "Pending"
	// Revoking: the subject is in a RoleBinding it should no longer be in
	// (not applied yet, or held by the deprovisioning guard).
	Revoking State = "Revoking"
	// NotGranted: the user is a member of the group (or holds the role) but
	// gets nothing from it, and has nothing: see the reason.
	NotGranted State = "NotGranted"
)

// ObjectRef names a Kubernetes object; Namespace is empty for a cluster-scoped one.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

func (r ObjectRef) String() string {
	if r.Name == "" {
		return "-"
	}
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// UserRef identifies a ScimUser and says whether it is active.
type UserRef struct {
	Namespace string `json:"namespace"`
	Endpoint  string `json:"endpoint"`
	ID        string `json:"id"`
	UserName  string `json:"userName"`
	Active    bool   `json:"active"`
}

func userRef(u *scimv1.ScimUser) *UserRef {
	return &UserRef{Namespace: u.Namespace, Endpoint: u.Spec.Endpoint, ID: u.Name, UserName: u.Spec.UserName,
		Active: u.Spec.Active && u.DeletionTimestamp.IsZero()}
}

// GroupRef identifies a ScimGroup.
type GroupRef struct {
	Namespace   string `json:"namespace"`
	Endpoint    string `json:"endpoint"`
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

func groupRef(g *scimv1.ScimGroup) *GroupRef {
	return &GroupRef{Namespace: g.Namespace, Endpoint: g.Spec.Endpoint, ID: g.Name, DisplayName: g.Spec.DisplayName}
}

// Access is one grant of a role, where, to one subject, and why: the
// binding, the group or SCIM role it follows, and the RoleBinding (or
// ClusterRoleBinding) that carries it.
type Access struct {
	// Binding is the ScimRoleBinding, ScimClusterRoleBinding or ScimEntitlement.
	Binding ObjectRef `json:"binding"`
	// Group is the group the binding follows (binding kinds).
	Group *GroupRef `json:"group,omitempty"`
	// Entitlement is the SCIM role value the ScimEntitlement follows.
	Entitlement string         `json:"entitlement,omitempty"`
	Role        scimv1.RoleRef `json:"role"`
	// Namespace the role is granted in; empty for a cluster-wide grant.
	Namespace   string `json:"namespace,omitempty"`
	SubjectKind string `json:"subjectKind"`
	Subject     string `json:"subject"`
	// User is the SCIM user the subject names; nil for a Group subject or a
	// subject no user of the endpoint has.
	User *UserRef `json:"user,omitempty"`
	// RoleBinding is the RoleBinding or ClusterRoleBinding holding the
	// subject (its name is empty when none does).
	RoleBinding ObjectRef `json:"roleBinding"`
	State       State     `json:"state"`
	Reason      string    `json:"reason,omitempty"`
}

// Via is how the access is reached: "group <displayName>" or "role <value>".
func (a Access) Via() string {
	switch {
	case a.Entitlement != "":
		return "role " + a.Entitlement
	case a.Group != nil:
		return "group " + a.Group.DisplayName
	}
	return "-"
}

// Where is the namespace, or "(cluster)" for a cluster-wide grant.
func (a Access) Where() string {
	if a.Namespace == "" {
		return "(cluster)"
	}
	return a.Namespace
}

// NotFoundError reports that no user or group matches a query.
type NotFoundError struct {
	Kind, Query, Scope string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %s %q%s (compared with the id and, case-insensitively, the %s)", e.Kind, e.Query, e.Scope, nameAttr(e.Kind))
}

// AmbiguousError reports that a query matches several users or groups,
// typically the same userName on several endpoints.
type AmbiguousError struct {
	Kind, Query string
	// Matches are "<namespace>/<endpoint>: <name> (id <id>)".
	Matches []string
}

func (e *AmbiguousError) Error() string {
	msg := fmt.Sprintf("%s %q is ambiguous, it matches %d:", e.Kind, e.Query, len(e.Matches))
	for _, m := range e.Matches {
		msg += "\n  " + m
	}
	return msg + "\nchoose one with --endpoint <namespace>/<endpoint>, or give its id"
}

func nameAttr(kind string) string {
	if kind == "group" {
		return "displayName"
	}
	return "userName"
}
