package v1alpha1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EntitlementGrant is one role a ScimEntitlement grants, and where: exactly
// one of a namespace list, a namespace label selector, or cluster-wide.
// +kubebuilder:validation:XValidation:rule="!(has(self.clusterWide) && self.clusterWide) || self.roleRef.kind == 'ClusterRole'",message="a cluster-wide grant needs roleRef.kind ClusterRole"
type EntitlementGrant struct {
	// RoleRef is the role granted; it must be on the operator's allow-list.
	// A Role is looked up by name in each target namespace.
	RoleRef RoleRef `json:"roleRef"`

	BindingTarget `json:",inline"`
}

// ScimEntitlementSpec is one access profile of an endpoint's catalog: the
// identity provider grants it to users by SCIM role value (its
// metadata.name), and the operator projects it like a group membership.
type ScimEntitlementSpec struct {
	// Endpoint is the name of the ScimEndpoint, in endpointNamespace or else
	// in this namespace, whose users may be granted the entitlement; it is
	// published there as a SCIM Role (RoleID).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// EndpointNamespace is the namespace of the endpoint; empty means this
	// namespace. Another namespace's endpoint must allow this one in its
	// spec.allowedNamespaces, or the entitlement is neither published nor
	// granted (Ready False, EndpointNotAllowed); and an entitlement outside
	// its endpoint's namespace grants only in its own namespace (Ready False,
	// GrantOutsideNamespace).
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	EndpointNamespace string `json:"endpointNamespace,omitempty"`

	// DisplayName is what the identity provider shows an administrator or a
	// requester (Okta's Governance tab, an access request).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName"`

	// Description says what the entitlement gives, for the person who
	// requests or approves it.
	// +kubebuilder:validation:MaxLength=1000
	// +optional
	Description string `json:"description,omitempty"`

	// Grants are the roles a user granted the entitlement receives.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Grants []EntitlementGrant `json:"grants"`

	// Subjects says how granted users appear in the bindings. Only User
	// subjects: an entitlement is granted to users, one by one.
	// +kubebuilder:default={kind: User, userAttribute: userName}
	// +kubebuilder:validation:XValidation:rule="!has(self.kind) || self.kind == 'User'",message="an entitlement is granted to users: subjects.kind must be User"
	// +optional
	Subjects Subjects `json:"subjects,omitempty"`
}

// ScimEntitlement is an entry of an endpoint's catalog of Kubernetes access
// profiles (docs/governance.md). Okta Identity Governance discovers it at
// /Roles; in Entra ID an app role with the same value mirrors it. Every
// active user whose SCIM roles hold its RoleID is granted its roles, through
// RoleBindings and ClusterRoleBindings the operator owns, under the same
// subject rules, deprovisioning guard and drift repair as ScimRoleBindings.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=scimen,categories=scim
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="the name is (part of) the SCIM role value: a DNS label of at most 63 characters, without dots"
// +kubebuilder:selectablefield:JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Endpoint-NS",type=string,JSONPath=`.spec.endpointNamespace`,priority=1
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Granted",type=integer,JSONPath=`.status.members`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimEntitlement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScimEntitlementSpec `json:"spec,omitempty"`
	Status BindingStatus       `json:"status,omitempty"`
}

// ScimEntitlementList is a list of ScimEntitlements.
// +kubebuilder:object:root=true
type ScimEntitlementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimEntitlement `json:"items"`
}

// EndpointRef is the ScimEndpoint whose catalog the entitlement is in:
// spec.endpoint in spec.endpointNamespace, or in its own namespace.
func (e *ScimEntitlement) EndpointRef() EndpointReference {
	return endpointRef(e.Namespace, e.Spec.EndpointNamespace, e.Spec.Endpoint)
}

// RoleID is the entitlement's SCIM Role id, the value a user's roles name to
// be granted it: its name, or, outside its endpoint's namespace,
// "<namespace>.<name>" (names are DNS labels, so the dot cannot be part of
// one).
func (e *ScimEntitlement) RoleID() string {
	if ns := e.EndpointRef().Namespace; ns != e.Namespace {
		return e.Namespace + "." + e.Name
	}
	return e.Name
}

// EntitlementOf is the ScimEntitlement a SCIM role value of an endpoint in
// namespace endpointNamespace names (the inverse of RoleID).
func EntitlementOf(endpointNamespace, roleValue string) (namespace, name string) {
	if ns, name, ok := strings.Cut(roleValue, "."); ok {
		return ns, name
	}
	return endpointNamespace, roleValue
}

// Granted reports whether the user's SCIM roles hold the entitlement's role id.
func (s *ScimUserSpec) Granted(entitlement string) bool {
	for _, r := range s.Roles {
		if r.Value == entitlement {
			return true
		}
	}
	return false
}
