package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SubjectKind says how group members appear in the projected bindings.
// +kubebuilder:validation:Enum=User;Group
type SubjectKind string

const (
	// SubjectUser binds every active member as a User subject (default).
	SubjectUser SubjectKind = "User"
	// SubjectGroup binds the group itself as a Group subject, for clusters whose
	// OIDC tokens carry a groups claim.
	SubjectGroup SubjectKind = "Group"
)

// UserAttribute is the ScimUser attribute a User subject is named after.
// +kubebuilder:validation:Enum=userName;email;externalId
type UserAttribute string

// User attributes a subject can be named after.
const (
	UserAttributeUserName   UserAttribute = "userName"
	UserAttributeEmail      UserAttribute = "email"
	UserAttributeExternalID UserAttribute = "externalId"
)

// GroupAttribute is the ScimGroup attribute a Group subject is named after.
// +kubebuilder:validation:Enum=displayName;externalId
type GroupAttribute string

// Group attributes a Group subject can be named after.
const (
	// GroupAttributeDisplayName names the subject after the group's SCIM
	// displayName, which an IdP group owner can rename.
	GroupAttributeDisplayName GroupAttribute = "displayName"
	// GroupAttributeExternalID names the subject after the group's externalId,
	// which Entra ID fills with the group's immutable object id (the value its
	// tokens' groups claim carries).
	GroupAttributeExternalID GroupAttribute = "externalId"
)

// Subjects says how the members of the group become RBAC subjects. Whatever
// the identity provider sends, the operator never writes a subject whose name
// starts with "system:" (names Kubernetes reserves) or holds control
// characters: such a member is skipped and counted in status.skippedSubjects.
// +kubebuilder:validation:XValidation:rule="self.kind != 'Group' || size(self.prefix) > 0",message="Group subjects need a non-empty prefix (e.g. \"oidc:\", the API server's groups claim prefix), so an IdP group name can never be a Kubernetes group such as system:authenticated"
type Subjects struct {
	// Kind is User (each active member) or Group (the group itself, named
	// after groupAttribute).
	// +kubebuilder:default=User
	// +optional
	Kind SubjectKind `json:"kind,omitempty"`

	// UserAttribute names User subjects after userName (default), the primary
	// email, or externalId; match it to the API server's --oidc-username-claim.
	// +kubebuilder:default=userName
	// +optional
	UserAttribute UserAttribute `json:"userAttribute,omitempty"`

	// GroupAttribute names a Group subject after the group's displayName
	// (default) or its externalId. With displayName, renaming the group in the
	// IdP renames the subject; externalId (Entra ID: the group's object id)
	// cannot be renamed.
	// +kubebuilder:default=displayName
	// +optional
	GroupAttribute GroupAttribute `json:"groupAttribute,omitempty"`

	// Prefix is prepended to every subject name, e.g. "oidc:" to match the
	// username or groups prefix of the API server's JWT authenticator.
	// Required for Group subjects.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('system:')",message="a prefix cannot start with system:"
	// +optional
	Prefix string `json:"prefix,omitempty"`
}

// RoleRef names the Role or ClusterRole to grant.
type RoleRef struct {
	// Kind is Role (in the target namespace) or ClusterRole.
	// +kubebuilder:validation:Enum=Role;ClusterRole
	Kind string `json:"kind"`

	// Name of the Role or ClusterRole.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ScimRoleBindingSpec grants a role in the binding's own namespace to the active
// members of one group of an endpoint in the same namespace, or in another
// namespace whose endpoint allows this one (spec.allowedNamespaces).
// +kubebuilder:validation:XValidation:rule="!(self.roleRef.kind == 'ClusterRole' && self.roleRef.name == 'cluster-admin')",message="a namespaced ScimRoleBinding cannot grant cluster-admin"
type ScimRoleBindingSpec struct {
	// Endpoint is the name of the ScimEndpoint whose group is bound, in
	// endpointNamespace or else in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// EndpointNamespace is the namespace of the endpoint; empty means this
	// namespace. Another namespace's endpoint must allow this one in its
	// spec.allowedNamespaces, or nothing is granted (Ready False,
	// EndpointNotAllowed).
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	EndpointNamespace string `json:"endpointNamespace,omitempty"`

	// Group selects the SCIM group whose active members are granted the role.
	Group GroupReference `json:"group"`

	// RoleRef is the role granted; it must be on the operator's allow-list
	// (the --allowed-roles flag, chart value rbac.allowedRoles).
	RoleRef RoleRef `json:"roleRef"`

	// Subjects says how members appear in the RoleBindings.
	// +kubebuilder:default={kind: User, userAttribute: userName}
	// +optional
	Subjects Subjects `json:"subjects,omitempty"`
}

// BindingStatus is the observed state of a ScimRoleBinding or ScimClusterRoleBinding.
type BindingStatus struct {
	// Conditions: Ready is True when every target holds exactly the active members.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// GroupID is the SCIM id the group reference resolved to; it stays put when
	// the group is renamed in the identity provider, and is resolved again
	// only when spec.group (or the endpoint) changes.
	// +optional
	GroupID string `json:"groupID,omitempty"`

	// GroupResolvedFrom is the reference groupID was resolved from:
	// "<endpoint namespace>/<endpoint name>/<id or lower-cased displayName>".
	// +optional
	GroupResolvedFrom string `json:"groupResolvedFrom,omitempty"`

	// Subjects is the number of subjects bound.
	// +optional
	Subjects int32 `json:"subjects"`

	// Members is the number of active group members the grant reaches: the
	// User subjects, or in Group mode the group's active members. The
	// deprovisioning guard counts a removed Group subject as this many
	// revocations.
	// +optional
	Members int32 `json:"members,omitempty"`

	// SkippedSubjects is the number of active members not bound because the
	// subject their attribute would give is unsafe: empty, starting with
	// "system:", holding control characters, or longer than 512 bytes.
	// +optional
	SkippedSubjects int32 `json:"skippedSubjects,omitempty"`

	// Namespaces the role is currently granted in (empty for cluster-wide grants).
	// +listType=atomic
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
}

// ScimRoleBinding binds the active members of a SCIM group to a Role or
// ClusterRole within its own namespace, through RoleBindings the operator owns.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=scimrb,categories=scim
// +kubebuilder:selectablefield:JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group.displayName`
// +kubebuilder:printcolumn:name="Group ID",type=string,JSONPath=`.status.groupID`,priority=1
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.roleRef.name`
// +kubebuilder:printcolumn:name="Subjects",type=integer,JSONPath=`.status.subjects`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Endpoint NS",type=string,JSONPath=`.spec.endpointNamespace`,priority=1
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimRoleBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScimRoleBindingSpec `json:"spec,omitempty"`
	Status BindingStatus       `json:"status,omitempty"`
}

// ScimRoleBindingList is a list of ScimRoleBindings.
// +kubebuilder:object:root=true
type ScimRoleBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimRoleBinding `json:"items"`
}

// EndpointReference names a ScimEndpoint in any namespace.
type EndpointReference struct {
	// Namespace of the ScimEndpoint.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// Name of the ScimEndpoint.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// BindingTarget says where a ScimClusterRoleBinding grants its role: exactly one
// of a namespace list, a namespace label selector, or cluster-wide.
// +kubebuilder:validation:XValidation:rule="(has(self.namespaces) ? 1 : 0) + (has(self.namespaceSelector) ? 1 : 0) + (has(self.clusterWide) && self.clusterWide ? 1 : 0) == 1",message="set exactly one of namespaces, namespaceSelector or clusterWide: true"
type BindingTarget struct {
	// Namespaces lists the namespaces to grant the role in.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceSelector grants the role in every namespace whose labels match,
	// including namespaces created later.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// ClusterWide grants a ClusterRole through ClusterRoleBindings.
	// +optional
	ClusterWide bool `json:"clusterWide,omitempty"`
}

// ScimClusterRoleBindingSpec grants a ClusterRole to the active members of a
// group, in several namespaces or cluster-wide.
// +kubebuilder:validation:XValidation:rule="!self.target.clusterWide || self.roleRef.kind == 'ClusterRole'",message="a cluster-wide grant needs roleRef.kind ClusterRole"
type ScimClusterRoleBindingSpec struct {
	// Endpoint is the ScimEndpoint whose group is bound.
	Endpoint EndpointReference `json:"endpoint"`

	// Group selects the SCIM group whose active members are granted the role.
	Group GroupReference `json:"group"`

	// RoleRef is the role granted; it must be on the operator's allow-list.
	// A Role is looked up by name in each target namespace.
	RoleRef RoleRef `json:"roleRef"`

	// Target says where the role is granted.
	Target BindingTarget `json:"target"`

	// Subjects says how members appear in the bindings.
	// +kubebuilder:default={kind: User, userAttribute: userName}
	// +optional
	Subjects Subjects `json:"subjects,omitempty"`
}

// ScimClusterRoleBinding binds the active members of a SCIM group to a role in
// many namespaces or cluster-wide. It is cluster-scoped, so only cluster
// administrators can create it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=scimcrb,categories=scim
// +kubebuilder:selectablefield:JSONPath=`.spec.endpoint.namespace`
// +kubebuilder:selectablefield:JSONPath=`.spec.endpoint.name`
// +kubebuilder:printcolumn:name="Endpoint Namespace",type=string,JSONPath=`.spec.endpoint.namespace`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint.name`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group.displayName`
// +kubebuilder:printcolumn:name="Group ID",type=string,JSONPath=`.status.groupID`,priority=1
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.roleRef.name`
// +kubebuilder:printcolumn:name="Subjects",type=integer,JSONPath=`.status.subjects`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimClusterRoleBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScimClusterRoleBindingSpec `json:"spec,omitempty"`
	Status BindingStatus              `json:"status,omitempty"`
}

// ScimClusterRoleBindingList is a list of ScimClusterRoleBindings.
// +kubebuilder:object:root=true
type ScimClusterRoleBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimClusterRoleBinding `json:"items"`
}
