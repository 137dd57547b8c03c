// Package v1alpha1 holds the scim-operator API: the SCIM endpoints an identity
// provider provisions (ScimEndpoint), the users and groups it pushes (ScimUser,
// ScimGroup and the ScimMembership shards of large groups), and the projections
// the platform team declares (ScimRoleBinding, ScimClusterRoleBinding, TenantApp).
//
// +kubebuilder:object:generate=true
// +groupName=scim.scim-operator.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "scim.scim-operator.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme; main and tests call it.
	AddToScheme = SchemeBuilder.AddToScheme
)
