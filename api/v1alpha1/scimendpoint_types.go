package v1alpha1

import (
	"regexp"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CompatibilityMode says how forgiving the SCIM server is with requests that
// bend RFC 7644 the way real identity providers do.
// +kubebuilder:validation:Enum=Lenient;Strict
type CompatibilityMode string

const (
	// CompatibilityLenient accepts the documented quirks of Okta, Entra ID,
	// JumpCloud and OneLogin (string booleans, dotted no-path keys, ...). Default.
	CompatibilityLenient CompatibilityMode = "Lenient"
	// CompatibilityStrict rejects anything RFC 7644 does not allow.
	CompatibilityStrict CompatibilityMode = "Strict"
)

// ScimEndpointSpec configures one SCIM service-provider endpoint.
type ScimEndpointSpec struct {
	// TokenSecretRefs lists the Secret keys holding bearer tokens the identity
	// provider may present. Every listed token is valid at once, so a token is
	// rotated by adding the new one, switching the IdP, then removing the old one.
	// Changes take effect without a restart.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	TokenSecretRefs []SecretKeyReference `json:"tokenSecretRefs"`

	// Compatibility selects Lenient (accept known IdP quirks) or Strict (RFC 7644 only).
	// +kubebuilder:default=Lenient
	// +optional
	Compatibility CompatibilityMode `json:"compatibility,omitempty"`

	// RateLimit bounds the requests per second this endpoint accepts; excess
	// requests are answered 429 with Retry-After, which Okta and Entra honour.
	// +kubebuilder:default={requestsPerSecond: 50, burst: 100}
	// +optional
	RateLimit RateLimit `json:"rateLimit,omitempty"`

	// MaxPageSize caps the count of a list request (advertised as filter.maxResults).
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxPageSize int32 `json:"maxPageSize,omitempty"`

	// UserNamePattern, when set, is a regular expression (RE2, anchored by
	// the operator) every userName must match; a create or update whose
	// userName does not is refused with 400 invalidValue. Use it to keep
	// the endpoint's users in the namespace the API server's authenticator
	// gives them, e.g. "[^@]+@example\\.com".
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	UserNamePattern string `json:"userNamePattern,omitempty"`

	// DeprovisioningGuard holds the projection of revocations when the IdP
	// suddenly deactivates or deletes a large share of the endpoint's users
	// (a mis-scoped assignment, a wrong filter), like Entra ID's accidental
	// deletions prevention. SCIM keeps answering; RoleBindings and tenant
	// rows keep the users until a person approves.
	// +kubebuilder:default={maxPercent: 20, minRevocations: 10, window: "1h"}
	// +optional
	DeprovisioningGuard DeprovisioningGuard `json:"deprovisioningGuard,omitempty"`

	// Quota bounds how many users and groups the IdP may create through
	// this endpoint, so a misconfigured assignment or a leaked token cannot
	// fill etcd. Unset: no bound.
	// +optional
	Quota EndpointQuota `json:"quota,omitempty"`

	// AllowedNamespaces says which other namespaces' ScimRoleBindings and
	// TenantApps may use this endpoint's users and groups (default: none,
	// only this namespace). Narrowing it revokes their grants at once; the
	// deprovisioning guard does not hold that (docs/security.md).
	// +kubebuilder:default={from: Same}
	// +optional
	AllowedNamespaces AllowedNamespaces `json:"allowedNamespaces,omitempty"`
}

// EndpointQuota bounds the resources of one endpoint. A create over the
// bound is answered 403 and the IdP reports a failed push; updates, deletes
// and reads are never refused. The bound is counted from the SCIM server's
// cache, so concurrent creates on several replicas may overshoot it by a
// few; a Kubernetes ResourceQuota on count/scimusers.scim.scim-operator.io
// is the hard limit.
type EndpointQuota struct {
	// MaxUsers is the most ScimUsers the endpoint may hold. Unset: no bound.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxUsers int32 `json:"maxUsers,omitempty"`

	// MaxGroups is the most ScimGroups the endpoint may hold. Unset: no bound.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxGroups int32 `json:"maxGroups,omitempty"`
}

// DeprovisioningGuard bounds how many users may lose access through one
// endpoint within a window before a person has to approve.
type DeprovisioningGuard struct {
	// MaxPercent is the share of the endpoint's users (active at the start
	// of the window) that may be revoked — deactivated or deleted — within
	// Window. Once more are, the projection of further revocations is
	// held. 0 turns the guard off.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=20
	// +optional
	MaxPercent int32 `json:"maxPercent"`

	// MinRevocations is the number of revocations always allowed within the
	// window, however small the endpoint: an IdP's connection test deletes
	// the only user it created.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=10
	// +optional
	MinRevocations int32 `json:"minRevocations"`

	// Window is the period revocations are counted over.
	// +kubebuilder:default="1h"
	// +optional
	Window metav1.Duration `json:"window,omitempty"`
}

// DeprovisioningStatus is what the guard counted and decided. The guard
// writes it before any revocation is applied, so it survives a leader change.
type DeprovisioningStatus struct {
	// Revoked is the number of revocations all projections (every binding,
	// every TenantApp) of the endpoint applied within the window.
	Revoked int32 `json:"revoked"`
	// Allowed is the number of revocations the window allows the endpoint.
	Allowed int32 `json:"allowed"`
	// Baseline is the number of active users the window started with,
	// counting only users older than one window, so that users created
	// just before a mass revocation cannot raise the limit.
	// +optional
	Baseline int32 `json:"baseline,omitempty"`
	// WindowStart is when the current window opened: at the first revocation
	// after the previous window ended, or at an approval.
	// +optional
	WindowStart *metav1.MicroTime `json:"windowStart,omitempty"`
	// Projections are the revocation counts of each projection that revoked
	// or was held within the window.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Projections []ProjectionRevocations `json:"projections,omitempty"`
	// HeldSince is when revocations started to be held (unset when they are not).
	// +optional
	HeldSince *metav1.MicroTime `json:"heldSince,omitempty"`
	// ApprovedAt is when held revocations were last approved (with
	// microseconds: revocations in the same second after it count).
	// +optional
	ApprovedAt *metav1.MicroTime `json:"approvedAt,omitempty"`
}

// ProjectionRevocations is what the deprovisioning guard counted for one
// projection of an endpoint within the current window.
type ProjectionRevocations struct {
	// Name identifies the projection: "<Kind>/<namespace>/<name>" of a
	// ScimRoleBinding, ScimClusterRoleBinding or TenantApp.
	Name string `json:"name"`
	// Revoked is the number of revocations applied within the window.
	Revoked int32 `json:"revoked"`
	// Pending is the number of revocations held, waiting for approval.
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// Approved is the number of revocations an approval released that the
	// projection has not applied yet; they do not count against the window.
	// +optional
	Approved int32 `json:"approved,omitempty"`
}

// RateLimit is a token bucket per endpoint.
type RateLimit struct {
	// RequestsPerSecond is the sustained rate. Entra ID gallery apps need at least 25.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	// +kubebuilder:default=50
	// +optional
	RequestsPerSecond int32 `json:"requestsPerSecond,omitempty"`

	// Burst is the number of requests accepted at once above the sustained rate.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	// +kubebuilder:default=100
	// +optional
	Burst int32 `json:"burst,omitempty"`
}

// ScimEndpointStatus is the observed state of a ScimEndpoint.
type ScimEndpointStatus struct {
	// Conditions: Ready is True when at least one token Secret key resolves and the endpoint serves.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Path is the path of the SCIM base URL, e.g. /scim/v2/<namespace>/<name>;
	// prefix it with the externally reachable address of the SCIM Service.
	// +optional
	Path string `json:"path,omitempty"`

	// Users is the number of ScimUsers of this endpoint.
	// +optional
	Users int32 `json:"users"`

	// Groups is the number of ScimGroups of this endpoint.
	// +optional
	Groups int32 `json:"groups"`

	// ValidTokens is the number of referenced token Secret keys that currently resolve.
	// +optional
	ValidTokens int32 `json:"validTokens"`

	// Deprovisioning is the state of the deprovisioning guard.
	// +optional
	Deprovisioning DeprovisioningStatus `json:"deprovisioning,omitempty"`
}

// SCIMPathPrefix is the prefix of every endpoint's SCIM base URL path:
// /scim/v2/<namespace>/<name> (status.path).
const SCIMPathPrefix = "/scim/v2/"

// SCIMPath is the path of the endpoint's SCIM base URL.
func (ep *ScimEndpoint) SCIMPath() string { return SCIMPathPrefix + ep.Namespace + "/" + ep.Name }

// UserNameRegexp anchors and compiles spec.userNamePattern (nil for an empty
// pattern).
func (s *ScimEndpointSpec) UserNameRegexp() (*regexp.Regexp, error) {
	if s.UserNamePattern == "" {
		return nil, nil
	}
	return regexp.Compile(`^(?:` + s.UserNamePattern + `)$`)
}

// RevocationsHeld reports whether the deprovisioning guard holds the
// projection of this endpoint's revocations.
func (ep *ScimEndpoint) RevocationsHeld() bool {
	return meta.IsStatusConditionTrue(ep.Status.Conditions, ConditionDeprovisioningHeld)
}

// ScimEndpoint is one SCIM 2.0 service-provider endpoint: one IdP app integration
// (an Okta app, an Entra enterprise app). Its users and groups live in its namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=scimep,categories=scim
// +kubebuilder:printcolumn:name="Path",type=string,JSONPath=`.status.path`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.users`
// +kubebuilder:printcolumn:name="Groups",type=integer,JSONPath=`.status.groups`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Held",type=string,JSONPath=`.status.conditions[?(@.type=="DeprovisioningHeld")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimEndpoint struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScimEndpointSpec   `json:"spec,omitempty"`
	Status ScimEndpointStatus `json:"status,omitempty"`
}

// ScimEndpointList is a list of ScimEndpoints.
// +kubebuilder:object:root=true
type ScimEndpointList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimEndpoint `json:"items"`
}
