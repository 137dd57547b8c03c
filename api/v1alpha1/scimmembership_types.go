package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MembershipShards is the number of shards a group's membership is spread over.
// A member always lands in shard fnv32a(id) % MembershipShards, so a membership
// change rewrites exactly one shard, and 100,000 members stay near 150 KiB per shard.
const MembershipShards = 32

// ScimMembershipSpec is one shard of a group's member list.
type ScimMembershipSpec struct {
	// Group is the SCIM id (metadata.name) of the ScimGroup this shard belongs to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group"`

	// Shard is the index of this shard, 0 <= shard < 32.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=31
	Shard int32 `json:"shard"`

	// Members of the group that hash to this shard, sorted by value.
	// +kubebuilder:validation:MaxItems=20000
	// +listType=atomic
	// +optional
	Members []Member `json:"members,omitempty"`
}

// Member is one member of a group.
type Member struct {
	// Value is the SCIM id of the member (a ScimUser's or ScimGroup's metadata.name).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Value string `json:"value"`

	// Type is User or Group; empty means User.
	// +kubebuilder:validation:Enum=User;Group
	// +optional
	Type string `json:"type,omitempty"`
}

// ScimMembership is one shard of a ScimGroup's membership, written by the SCIM
// server. It is named <group>-<shard> and owned by its ScimGroup.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=scimm
// +kubebuilder:selectablefield:JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Shard",type=integer,JSONPath=`.spec.shard`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScimMembership struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ScimMembershipSpec `json:"spec,omitempty"`
}

// ScimMembershipList is a list of ScimMemberships.
// +kubebuilder:object:root=true
type ScimMembershipList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScimMembership `json:"items"`
}

// IsUser reports whether the member is a user (an empty Type means User);
// the projections skip nested groups.
func (m Member) IsUser() bool { return m.Kind() == "User" }

// Kind is the member's SCIM type: "User" (also for an empty Type, which is
// how a user is stored) or "Group".
func (m Member) Kind() string {
	if m.Type == "" {
		return "User"
	}
	return m.Type
}
