// Package v1alpha1 holds the scim-operator API: the SCIM endpoints an identity
// provider provisions (ScimEndpoint), the users and groups it pushes (ScimUser,
// ScimGroup and the ScimMembership shards of large groups), and the projections
// the platform team declares (ScimRoleBinding, ScimClusterRoleBinding,
// ScimEntitlement, TenantApp).
//
// +kubebuilder:object:generate=true
// +groupName=scim.scim-operator.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every kind in this package.
var GroupVersion = schema.GroupVersion{Group: "scim.scim-operator.io", Version: "v1alpha1"}

// AddToScheme adds the kinds of this package to a scheme; main and tests call it.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&ScimEndpoint{}, &ScimEndpointList{},
		&ScimUser{}, &ScimUserList{},
		&ScimGroup{}, &ScimGroupList{},
		&ScimMembership{}, &ScimMembershipList{},
		&ScimClaim{}, &ScimClaimList{},
		&ScimRoleBinding{}, &ScimRoleBindingList{},
		&ScimClusterRoleBinding{}, &ScimClusterRoleBindingList{},
		&ScimEntitlement{}, &ScimEntitlementList{},
		&TenantApp{}, &TenantAppList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
