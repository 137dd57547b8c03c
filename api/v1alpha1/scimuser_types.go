package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScimUserSpec is a SCIM User (RFC 7643 §4.1 and the enterprise extension of §4.3)
// as the identity provider last wrote it. The SCIM server is its only writer.
// +kubebuilder:validation:XValidation:rule="self.endpoint == oldSelf.endpoint",message="endpoint is immutable"
type ScimUserSpec struct {
	// Endpoint is the name of the ScimEndpoint (same namespace) this user was provisioned through.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Endpoint string `json:"endpoint"`

	// UserName is the unique identifier the user signs in with; unique per endpoint,
	// compared case-insensitively.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	UserName string `json:"userName"`

	// ExternalID is the identity provider's own identifier for the user.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	ExternalID string `json:"externalId,omitempty"`

	// Active is the administrative status; false revokes every projected grant.
	// +kubebuilder:default=true
	Active bool `json:"active"`

	// Name holds the components of the user's real name.
	// +optional
	Name *Name `json:"name,omitempty"`

	// DisplayName is the name shown to end users.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// NickName is the casual way to address the user.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	NickName string `json:"nickName,omitempty"`

	// ProfileURL is a URI of the user's online profile.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	ProfileURL string `json:"profileUrl,omitempty"`

	// Title is the user's title, such as "Vice President".
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Title string `json:"title,omitempty"`

	// UserType is the relationship between the organization and the user.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	UserType string `json:"userType,omitempty"`

	// PreferredLanguage is the user's preferred language (e.g. "en-US").
	// +kubebuilder:validation:MaxLength=256
	// +optional
	PreferredLanguage string `json:"preferredLanguage,omitempty"`

	// Locale is the user's default location for localisation (e.g. "en-US").
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Locale string `json:"locale,omitempty"`

	// Timezone is the user's time zone in IANA format (e.g. "Europe/Paris").
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Timezone string `json:"timezone,omitempty"`

	// Emails are the user's email addresses; at most one is primary.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Emails []MultiValuedAttribute `json:"emails,omitempty"`

	// PhoneNumbers are the user's phone numbers.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	PhoneNumbers []MultiValuedAttribute `json:"phoneNumbers,omitempty"`

	// IMs are the user's instant-messaging addresses.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	IMs []MultiValuedAttribute `json:"ims,omitempty"`

	// Photos are URLs of photos of the user.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Photos []MultiValuedAttribute `json:"photos,omitempty"`

	// Addresses are the user's physical mailing addresses.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Addresses []Address `json:"addresses,omitempty"`

	// Entitlements granted to the user by the identity provider.
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	Entitlements []MultiValuedAttribute `json:"entitlements,omitempty"`

	// Roles of the user as the identity provider sends them (Entra app roles).
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	Roles []MultiValuedAttribute `json:"roles,omitempty"`

	// X509Certificates of the user, base64 DER.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	X509Certificates []MultiValuedAttribute `json:"x509Certificates,omitempty"`

	// Enterprise holds the enterprise User extension
	// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User).
	// +optional
	Enterprise *EnterpriseUser `json:"enterprise,omitempty"`
}

// Name holds the components of a user's real name.
type Name struct {
	// Formatted is the full name, formatted for display.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Formatted string `json:"formatted,omitempty"`
	// FamilyName is the family (last) name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	FamilyName string `json:"familyName,omitempty"`
	// GivenName is the given (first) name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	GivenName string `json:"givenName,omitempty"`
	// MiddleName is the middle name(s).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	MiddleName string `json:"middleName,omitempty"`
	// HonorificPrefix such as "Ms.".
	// +kubebuilder:validation:MaxLength=256
	// +optional
	HonorificPrefix string `json:"honorificPrefix,omitempty"`
	// HonorificSuffix such as "III".
	// +kubebuilder:validation:MaxLength=256
	// +optional
	HonorificSuffix string `json:"honorificSuffix,omitempty"`
}

// MultiValuedAttribute is one element of a multi-valued SCIM attribute such as emails.
type MultiValuedAttribute struct {
	// Value is the attribute's value, e.g. the email address.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Value string `json:"value,omitempty"`
	// Display is a human-readable form of the value.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Display string `json:"display,omitempty"`
	// Type labels the value's function, e.g. "work" or "home".
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Type string `json:"type,omitempty"`
	// Primary marks the preferred value; at most one element is primary.
	// +optional
	Primary bool `json:"primary,omitempty"`
}

// Address is one physical mailing address.
type Address struct {
	// Formatted is the full address, formatted for display.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Formatted string `json:"formatted,omitempty"`
	// StreetAddress is the street component.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	StreetAddress string `json:"streetAddress,omitempty"`
	// Locality is the city.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Locality string `json:"locality,omitempty"`
	// Region is the state or region.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Region string `json:"region,omitempty"`
	// PostalCode is the zip or postal code.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	PostalCode string `json:"postalCode,omitempty"`
	// Country is the country name or ISO 3166-1 code.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Country string `json:"country,omitempty"`
	// Type labels the address, e.g. "work".
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Type string `json:"type,omitempty"`
	// Primary marks the preferred address.
	// +optional
	Primary bool `json:"primary,omitempty"`
}

// EnterpriseUser is the enterprise User extension of RFC 7643 §4.3.
type EnterpriseUser struct {
	// EmployeeNumber assigned by the organization.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	// CostCenter name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	CostCenter string `json:"costCenter,omitempty"`
	// Organization name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Organization string `json:"organization,omitempty"`
	// Division name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Division string `json:"division,omitempty"`
	// Department name.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Department string `json:"department,omitempty"`
	// Manager is the user's manager.
	// +optional
	Manager *Manager `json:"manager,omitempty"`
}

// Manager references a user's manager.
type Manager struct {
	// Value is the SCIM id of the manager.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Value string `json:"value,omitempty"`
	// Ref is the URI of the manager's resource.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Ref string `json:"$ref,omitempty"`
	// DisplayName of the manager.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	DisplayName string `json:"displayName,omitempty"`
}

// No status and no Ready column: nothing computes one per user. No Roles
// column: a printer column shows only the first value of a list.

// ScimUser is one SCIM User of a ScimEndpoint. metadata.name is the SCIM id,
// assigned by the server at creation and never derived from userName.
// It is identity data written by the SCIM server, not configuration, so it is
// not in the category scim; find one with
// kubectl get scimusers --field-selector spec.userName=<userName>.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=scimu
// +kubebuilder:selectablefield:JSONPath=`.spec.userName`
// +kubebuilder:selectablefield:JSONPath=`.spec.endpoint`
// +kubebuilder:selectablefield:JSONPath=`.spec.active`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`,priority=1
// +kubebuilder:printcolumn:name="UserName",type=string,JSONPath=`.spec.userName`
// +kubebuilder:printcolumn:name="Active",type=boolean,JSONPath=`.spec.active`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimUser struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ScimUserSpec `json:"spec,omitempty"`
}

// ScimUserList is a list of ScimUsers.
// +kubebuilder:object:root=true
type ScimUserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimUser `json:"items"`
}

// PrimaryEmail is the address both projections use: the first non-empty
// value marked primary, else the first non-empty value, else "".
func (s *ScimUserSpec) PrimaryEmail() string {
	for _, e := range s.Emails {
		if e.Primary && e.Value != "" {
			return e.Value
		}
	}
	for _, e := range s.Emails {
		if e.Value != "" {
			return e.Value
		}
	}
	return ""
}
