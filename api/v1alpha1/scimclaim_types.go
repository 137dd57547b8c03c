package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScimClaimSpec records which resource holds a unique value of an endpoint.
type ScimClaimSpec struct {
	// Endpoint is the ScimEndpoint (same namespace) the value is unique within.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// Kind is the kind of the holder: User (userName) or Group (displayName).
	// +kubebuilder:validation:Enum=User;Group
	Kind string `json:"kind"`

	// Holder is the SCIM id (metadata.name) of the ScimUser or ScimGroup holding the value.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Holder string `json:"holder"`
}

// ScimClaim makes userName and group displayName unique per endpoint across every
// replica of the SCIM server. Its name is a hash of the endpoint, the kind and the
// lower-cased value, so the API server's own name uniqueness decides a race
// between two concurrent creates: exactly one claim create succeeds.
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=scim
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.kind`
// +kubebuilder:printcolumn:name="Holder",type=string,JSONPath=`.spec.holder`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimClaim struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ScimClaimSpec `json:"spec,omitempty"`
}

// ScimClaimList is a list of ScimClaims.
// +kubebuilder:object:root=true
type ScimClaimList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimClaim `json:"items"`
}
