package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScimGroupSpec is a SCIM Group (RFC 7643 §4.2) without its members: membership
// lives in ScimMembership shards so that a group of 100,000 members never comes
// near etcd's object size limit.
// +kubebuilder:validation:XValidation:rule="self.endpoint == oldSelf.endpoint",message="endpoint is immutable"
type ScimGroupSpec struct {
	// Endpoint is the name of the ScimEndpoint (same namespace) this group was provisioned through.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// DisplayName is the group's name; unique per endpoint, compared case-insensitively.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	DisplayName string `json:"displayName"`

	// ExternalID is the identity provider's own identifier for the group.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	ExternalID string `json:"externalId,omitempty"`
}

// No status and no Members column: a count kept on the group would cost a
// second write per membership change; a binding's status.members counts the
// active members it grants to.

// ScimGroup is one SCIM Group of a ScimEndpoint. metadata.name is the SCIM id.
// Its members are in the ScimMemberships of spec.group=<metadata.name>. It is
// identity data written by the SCIM server, not configuration, so it is not
// in the category scim; find one with
// kubectl get scimgroups --field-selector spec.displayName=<displayName>.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=scimg
// +kubebuilder:selectablefield:JSONPath=`.spec.displayName`
// +kubebuilder:selectablefield:JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`,priority=1
// +kubebuilder:printcolumn:name="DisplayName",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ScimGroupSpec `json:"spec,omitempty"`
}

// ScimGroupList is a list of ScimGroups.
// +kubebuilder:object:root=true
type ScimGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimGroup `json:"items"`
}
