package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeactivationPolicy says what happens to a tenant database row when its user is
// deactivated or leaves the app's scope.
// +kubebuilder:validation:Enum=Disable;Delete
type DeactivationPolicy string

const (
	// DeactivationDisable keeps the row with active=false (default).
	DeactivationDisable DeactivationPolicy = "Disable"
	// DeactivationDelete removes the row.
	DeactivationDelete DeactivationPolicy = "Delete"
)

// TenantDatabase says where a tenant application's PostgreSQL database is.
type TenantDatabase struct {
	// ConnectionSecretRef points at a Secret key holding a PostgreSQL connection
	// string (postgres://user:password@host:5432/db?sslmode=verify-full). To a
	// host other than loopback or a Unix socket, sslmode must be verify-full
	// unless tls.insecureSkipVerify is set.
	ConnectionSecretRef SecretKeyReference `json:"connectionSecretRef"`

	// TLS says how the operator verifies the database server.
	// +optional
	TLS TenantDatabaseTLS `json:"tls,omitempty"`

	// Schema is the PostgreSQL schema the operator owns and creates its tables in.
	// +kubebuilder:default=scim
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z_][a-z0-9_]*$`
	// +optional
	Schema string `json:"schema,omitempty"`
}

// TenantDatabaseTLS says how the operator verifies a tenant database server.
type TenantDatabaseTLS struct {
	// CASecretRef points at a Secret key (same namespace) holding the PEM CA
	// certificates the server's certificate must chain to, e.g. key ca.crt of
	// CloudNativePG's <cluster>-ca Secret. Unset: the operator's
	// --tenant-db-ca-file, else the DSN's sslrootcert, else the system roots.
	// +optional
	CASecretRef *SecretKeyReference `json:"caSecretRef,omitempty"`

	// InsecureSkipVerify lets the connection string reach a non-loopback host
	// without verifying the server (sslmode disable, allow, prefer, require or
	// verify-ca): anyone on the network path can then read the password and
	// the rows. Without it such a TenantApp is refused with reason
	// InsecureConnection and nothing is written.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// TenantScope limits which users an app receives, like assigning an Okta app to groups.
type TenantScope struct {
	// Groups lists displayNames of the endpoint's groups; only their members are
	// provisioned. Empty means every user of the endpoint. Each name is
	// resolved to the group's SCIM id once and pinned in status.scopeGroupIDs,
	// so renaming the group in the IdP does not change the scope.
	// +kubebuilder:validation:MaxItems=100
	// +listType=set
	// +optional
	Groups []string `json:"groups,omitempty"`
}

// TenantAppSpec declares a tenant application whose database receives an
// endpoint's users and groups.
type TenantAppSpec struct {
	// Endpoint is the name of the ScimEndpoint whose users are projected, in
	// endpointNamespace or else in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// EndpointNamespace is the namespace of the endpoint; empty means this
	// namespace. Another namespace's endpoint must allow this one in its
	// spec.allowedNamespaces, or nothing is written (Ready False,
	// EndpointNotAllowed). The connection and CA Secrets are always read in
	// the TenantApp's own namespace.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	EndpointNamespace string `json:"endpointNamespace,omitempty"`

	// Database is the PostgreSQL database and schema to write.
	Database TenantDatabase `json:"database"`

	// Scope limits the projected users to members of some groups.
	// +optional
	Scope TenantScope `json:"scope,omitempty"`

	// DeactivationPolicy is Disable (keep the row, active=false) or Delete.
	// +kubebuilder:default=Disable
	// +optional
	DeactivationPolicy DeactivationPolicy `json:"deactivationPolicy,omitempty"`

	// ResyncInterval is how often a full resync corrects drift in the tables.
	// +kubebuilder:default="10m"
	// +optional
	ResyncInterval metav1.Duration `json:"resyncInterval,omitempty"`
}

// TenantAppStatus is the observed state of a TenantApp.
type TenantAppStatus struct {
	// Conditions: Ready, and DatabaseReachable.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// SyncedUsers is the number of user rows after the last sync.
	// +optional
	SyncedUsers int32 `json:"syncedUsers"`

	// SyncedGroups is the number of group rows after the last sync.
	// +optional
	SyncedGroups int32 `json:"syncedGroups"`

	// LastFullSyncTime is when the last full resync finished.
	// +optional
	LastFullSyncTime *metav1.Time `json:"lastFullSyncTime,omitempty"`

	// SchemaVersion is the version of the table contract applied to the database.
	// +optional
	SchemaVersion int32 `json:"schemaVersion,omitempty"`

	// ScopeGroups pins each spec.scope.groups displayName to the SCIM id it
	// resolved to; a later rename in the IdP does not move the scope.
	// +listType=map
	// +listMapKey=displayName
	// +optional
	ScopeGroups []PinnedGroup `json:"scopeGroups,omitempty"`
}

// PinnedGroup is a group reference resolved once and remembered.
type PinnedGroup struct {
	// DisplayName is the name the spec refers to the group by.
	DisplayName string `json:"displayName"`
	// ID is the SCIM id (ScimGroup metadata.name) it resolved to.
	ID string `json:"id"`
}

// TenantApp is an in-cluster application whose PostgreSQL database receives the
// users and groups of an endpoint: created, updated, deactivated and removed,
// without the app implementing SCIM.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tapp,categories=scim
// +kubebuilder:printcolumn:name="Endpoint NS",type=string,JSONPath=`.spec.endpointNamespace`,priority=1
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.syncedUsers`
// +kubebuilder:printcolumn:name="Groups",type=integer,JSONPath=`.status.syncedGroups`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TenantApp struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TenantAppSpec   `json:"spec,omitempty"`
	Status TenantAppStatus `json:"status,omitempty"`
}

// TenantAppList is a list of TenantApps.
// +kubebuilder:object:root=true
type TenantAppList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantApp `json:"items"`
}
