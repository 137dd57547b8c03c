package v1alpha1

// Condition types shared by the kinds of this API.
const (
	// ConditionReady is True when the object is fully reconciled.
	ConditionReady = "Ready"
	// ConditionDatabaseReachable is True when a TenantApp's database answers.
	ConditionDatabaseReachable = "DatabaseReachable"
	// ConditionPublished is True on a ScimEntitlement its endpoint accepts
	// in its catalog (for an entitlement in another namespace: the endpoint
	// allows that namespace and every grant stays in it). The SCIM server
	// publishes an entitlement of another namespace only while this is True
	// for its current generation.
	ConditionPublished = "Published"
	// ConditionDeprovisioningHeld is True on a ScimEndpoint while its
	// deprovisioning guard holds the projection of revocations.
	ConditionDeprovisioningHeld = "DeprovisioningHeld"
)

// Labels and annotations the operator sets and reads.
const (
	// LabelEndpoint names the ScimEndpoint (in the same namespace) that owns a
	// ScimUser, ScimGroup, ScimMembership or ScimClaim.
	LabelEndpoint = "scim.scim-operator.io/endpoint"
	// LabelTokenSecret must be "true" on a Secret before a ScimEndpoint may
	// use its keys as bearer tokens: an endpoint cannot turn an arbitrary
	// Secret of its namespace into a credential.
	LabelTokenSecret = "scim.scim-operator.io/token"
	// LabelDerivedFrom is set on a ScimUser or ScimGroup created under a
	// name derived from its unique value and the id epoch: it is the
	// epoch-free name of that value (the name of the value's ScimClaim), so a
	// writer can find the resource that holds a value by name whatever epoch
	// named it.
	LabelDerivedFrom = "scim.scim-operator.io/derived-from"
	// LabelGroup names the ScimGroup a ScimMembership shard belongs to.
	LabelGroup = "scim.scim-operator.io/group"
	// LabelManagedBy marks objects the operator created and owns.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on objects the operator owns.
	ManagedByValue = "scim-operator"
	// AnnotationLastModified records when the SCIM server last wrote a
	// ScimUser or ScimGroup (RFC 3339 with milliseconds), rendered as
	// meta.lastModified; the projections measure their lag from it.
	AnnotationLastModified = "scim.scim-operator.io/last-modified"
	// AnnotationDeactivatedAt records when the SCIM server turned a ScimUser
	// from active to inactive; the deprovisioning guard counts it.
	AnnotationDeactivatedAt = "scim.scim-operator.io/deactivated-at"
	// AnnotationActivatedAt records when the SCIM server turned a ScimUser
	// from inactive to active again; the guard's baseline leaves out users
	// re-activated within the last window.
	AnnotationActivatedAt = "scim.scim-operator.io/activated-at"
	// AnnotationRolesSentAt records when the identity provider last sent a
	// ScimUser's roles (a create, a PUT, or a PATCH of roles), changed or
	// not: after a reactivation, roles count only once sent again.
	AnnotationRolesSentAt = "scim.scim-operator.io/roles-sent-at"
	// AnnotationApproveDeprovisioning on a ScimEndpoint (any non-empty
	// value) approves the revocations its deprovisioning guard holds; the
	// operator removes it once applied.
	AnnotationApproveDeprovisioning = "scim.scim-operator.io/approve-deprovisioning"
)

// SecretKeyReference points at one key of a Secret in the referencing object's namespace.
type SecretKeyReference struct {
	// Name of the Secret, in the same namespace as the referencing object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// GroupReference selects one ScimGroup of an endpoint, by its SCIM displayName
// (how a platform engineer knows it) or by its SCIM id (its metadata.name).
// Once a displayName is resolved the id is remembered in status, so a later
// rename in the identity provider does not move the grant.
// +kubebuilder:validation:XValidation:rule="has(self.displayName) != has(self.id)",message="set exactly one of displayName or id"
type GroupReference struct {
	// DisplayName of the group as the identity provider pushed it (compared case-insensitively).
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	DisplayName string `json:"displayName,omitempty"`

	// ID is the SCIM id of the group, which is also the ScimGroup's metadata.name.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ID string `json:"id,omitempty"`
}
