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

// ScimGroupStatus is the observed state of a ScimGroup.
type ScimGroupStatus struct {
	// Conditions: Ready is True when the membership shards are consistent and projected.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Members is the number of members over all shards.
	// +optional
	Members int32 `json:"members"`
}

// ScimGroup is one SCIM Group of a ScimEndpoint. metadata.name is the SCIM id.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=scimg,categories=scim
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`,priority=1
// +kubebuilder:printcolumn:name="DisplayName",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.members`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScimGroupSpec   `json:"spec,omitempty"`
	Status ScimGroupStatus `json:"status,omitempty"`
}

// ScimGroupList is a list of ScimGroups.
// +kubebuilder:object:root=true
type ScimGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimGroup `json:"items"`
}
