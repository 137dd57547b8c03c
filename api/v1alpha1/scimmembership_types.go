package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MembershipShards is the number of shards a group written before shards
// grew with their group (shards without a depth) is spread over: a member of
// such a group is in shard fnv32a(id) % MembershipShards. See
// docs/architecture.md for the layout of a group's shards.
const MembershipShards = 32

// MaxMembershipDepth is the deepest a group's shard tree may grow: 2^16
// shards of up to a few thousand members each.
const MaxMembershipDepth = 16

// ScimMembershipSpec is one shard of a group's member list.
type ScimMembershipSpec struct {
	// Group is the SCIM id (metadata.name) of the ScimGroup this shard belongs to.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group"`

	// Shard is the index of this shard among the shards of its depth: it holds
	// the members whose id hashes (fnv32a) to h with h % 2^depth == shard.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Shard int32 `json:"shard"`

	// Depth is this shard's depth in the group's shard tree. A shard without
	// one was written before shards grew with their group and has depth 5
	// (one of 32 shards).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=16
	// +optional
	Depth *int32 `json:"depth,omitempty"`

	// Split marks a shard that grew too large and was split in two at the next
	// depth. Its members, while any are left, are the ones it held when it was
	// split, and count only for a child shard that does not exist yet.
	// +optional
	Split bool `json:"split,omitempty"`

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
// server. It is named <group>-<depth>-<shard> (<group>-<shard> when it has no
// depth) and owned by its ScimGroup.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=scimm
// +kubebuilder:selectablefield:JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Depth",type=integer,JSONPath=`.spec.depth`
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
