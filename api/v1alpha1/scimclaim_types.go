package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScimClaimSpec records which resource holds a unique value of an endpoint,
// and whether the id derived from the value is retired.
type ScimClaimSpec struct {
	// Endpoint is the ScimEndpoint (same namespace) the value is unique within.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// Kind is the kind of the holder: User (userName) or Group (displayName).
	// +kubebuilder:validation:Enum=User;Group
	Kind string `json:"kind"`

	// Holder is the SCIM id (metadata.name) of the ScimUser or ScimGroup
	// holding the value; empty when nobody holds it through this claim.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Holder string `json:"holder,omitempty"`

	// Since is when Holder took the claim. A claim whose holder does not
	// exist is taken over only some time after this: its holder may be
	// being created.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`

	// Retired records that a resource created under the id derived from
	// this value has been deleted: SCIM ids are never reassigned, so the
	// value's next resource gets a random id.
	// +optional
	Retired bool `json:"retired,omitempty"`

	// RetiredAt is when the id was retired. A tombstone with no holder is
	// deleted once the operator's tombstone TTL has passed since then: by
	// that time no replica can derive the id again (docs/security.md, "Ids").
	// +optional
	RetiredAt *metav1.Time `json:"retiredAt,omitempty"`
}

// ScimClaim reserves a userName or group displayName of an endpoint where the
// holder's own name cannot. A resource is created under a name derived from
// its unique value (a hash of the endpoint, the kind and the lower-cased
// value), so the API server's name uniqueness decides a race between creates
// on any number of replicas, in one write. A claim of that same name is
// written only for a value held by a resource whose name derives from another
// value (it was renamed, or created when the derived id was retired), and as
// the tombstone of a deleted resource's derived id, until the tombstone TTL
// has passed.
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.spec.kind`
// +kubebuilder:printcolumn:name="Holder",type=string,JSONPath=`.spec.holder`
// +kubebuilder:printcolumn:name="Retired",type=boolean,JSONPath=`.spec.retired`
// +kubebuilder:printcolumn:name="Retired-At",type=date,JSONPath=`.spec.retiredAt`,priority=1
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
