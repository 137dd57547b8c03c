package scimstore

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// A group's members are kept in a binary tree of ScimMembership shards, by
// the fnv32a hash h of each member id (docs/architecture.md#group-membership).
// A shard at depth d with index i holds the members with h % 2^d == i. A new
// group has one shard, the root (depth 0). A shard that would pass
// Options.ShardMembers is split: it is frozen (Split set, its members kept), its
// two children at depth d+1 are created with its members, then its members
// are cleared. A member therefore lives in exactly one shard, the one its
// hash leads to from the root through the split shards, and a writer that
// raced with a split finds it out through the shard's resourceVersion.
//
// Groups written before the tree have up to 32 shards without a depth,
// named <group>-<i>: they are the depth-5 shards of a tree whose upper
// levels are implicitly split, and grow from there like any other. A replica
// of the previous version adds to a tree group the same way, beside the tree
// (docs/upgrading.md): such shards are extra leaves that are read and
// emptied, never added to. That replica removes a member only from
// <group>-<h % 32>, so while one may serve (Options.LegacyLayout) new groups
// get the legacy shards and nothing is split.

// DefaultShardMembers is how many members a shard holds before it is split:
// about 100 KB of JSON with SCIM ids of 36 characters, so a single member
// change of a big group rewrites a shard of 50-100 KB, and a group of up to
// DefaultShardMembers members is one object.
const DefaultShardMembers = 2000

// legacyDepth is the depth of the shards of a group written before the tree.
const legacyDepth = 5

// node is one shard's place in a group's tree.
type node struct{ depth, index int32 }

// MemberHash is the hash that places a member id in a group's shard tree.
func MemberHash(id string) uint32 { return FNV1a32(id) }

// FNV1a32 is hash/fnv's 32-bit FNV-1a of s, without a hasher and a byte
// slice per call: shard placement, index buckets and RoleBinding shards
// hash every member of a group on hot paths.
func FNV1a32(s string) uint32 {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= prime
	}
	return h
}

// covers reports whether the shard at n holds the members hashing to h.
func (n node) covers(h uint32) bool { return h&(1<<uint(n.depth)-1) == uint32(n.index) }

// child is the child of n covering h.
func (n node) child(h uint32) node {
	return node{n.depth + 1, n.index | int32(h&(1<<uint(n.depth)))}
}

// parent is the shard n's members came from when it was split (n is not a root).
func (n node) parent() node {
	return node{n.depth - 1, n.index & (1<<uint(n.depth-1) - 1)}
}

// children are n's two children.
func (n node) children() [2]node {
	return [2]node{{n.depth + 1, n.index}, {n.depth + 1, n.index | 1<<uint(n.depth)}}
}

// nodeOf is a shard's place in its group's tree.
func nodeOf(sh *scimv1.ScimMembership) node {
	if sh.Spec.Depth == nil {
		return node{legacyDepth, sh.Spec.Shard}
	}
	return node{*sh.Spec.Depth, sh.Spec.Shard}
}

// ShardName is the name of the shard of group at depth with index; shards
// without a depth (legacy) are named <group>-<index>.
func ShardName(group string, depth *int32, index int32) string {
	if depth == nil {
		return fmt.Sprintf("%s-%d", group, index)
	}
	return fmt.Sprintf("%s-%d-%d", group, *depth, index)
}

// layout is what a replica knows of a group's tree: its shards by place,
// whether the group was written before the tree, and the legacy shards a
// replica of the previous version wrote beside the tree (by place too: a
// legacy shard <group>-<i> is at depth 5, index i).
type layout struct {
	group  string
	legacy bool
	shards map[node]*scimv1.ScimMembership
	beside map[node]*scimv1.ScimMembership
}

// newLayout lays out a group's shards. A group is a legacy one when it has
// legacy shards and no tree root; legacy shards beside a tree root are kept
// apart from the tree.
func newLayout(group string, shards []*scimv1.ScimMembership) *layout {
	l := &layout{group: group, shards: make(map[node]*scimv1.ScimMembership, len(shards))}
	tree := slices.ContainsFunc(shards, func(sh *scimv1.ScimMembership) bool {
		return sh.Spec.Depth != nil && *sh.Spec.Depth == 0
	})
	for _, sh := range shards {
		switch {
		case sh.Spec.Depth != nil:
			l.shards[nodeOf(sh)] = sh
		case tree:
			if l.beside == nil {
				l.beside = map[node]*scimv1.ScimMembership{}
			}
			l.beside[nodeOf(sh)] = sh
		default:
			l.legacy = true
			l.shards[nodeOf(sh)] = sh
		}
	}
	return l
}

// shardRef names a shard to write: a place in the tree, or a legacy shard
// beside it.
type shardRef struct {
	n      node
	beside bool
}

// refName is the name of the shard ref names.
func (l *layout) refName(r shardRef) string {
	if r.beside {
		return ShardName(l.group, nil, r.n.index)
	}
	return l.name(r.n)
}

// refOf is the shardRef of a shard of this group.
func (l *layout) refOf(sh *scimv1.ScimMembership) shardRef {
	return shardRef{n: nodeOf(sh), beside: sh.Spec.Depth == nil && !l.legacy}
}

// name is the name of the shard at n: a legacy group's depth-5 shards keep
// their old names.
func (l *layout) name(n node) string { return ShardName(l.group, l.depthOf(n), n.index) }

// depthOf is what Spec.Depth holds for the shard at n.
func (l *layout) depthOf(n node) *int32 {
	if l.legacy && n.depth == legacyDepth {
		return nil
	}
	d := n.depth
	return &d
}

// roots are the shards every member's path starts from.
func (l *layout) roots() []node {
	if !l.legacy {
		return []node{{0, 0}}
	}
	out := make([]node, scimv1.MembershipShards)
	for i := range out {
		out[i] = node{legacyDepth, int32(i)}
	}
	return out
}

// root is the root of h's path.
func (l *layout) root(h uint32) node {
	if !l.legacy {
		return node{0, 0}
	}
	return node{legacyDepth, int32(h % scimv1.MembershipShards)}
}

// isRoot reports whether n is where paths start.
func (l *layout) isRoot(n node) bool {
	if l.legacy {
		return n.depth == legacyDepth
	}
	return n.depth == 0
}

// leaf is the shard that holds h as far as this replica knows.
func (l *layout) leaf(h uint32) node {
	n := l.root(h)
	for {
		sh := l.shards[n]
		if sh == nil || !sh.Spec.Split || n.depth >= scimv1.MaxMembershipDepth {
			return n
		}
		n = n.child(h)
	}
}

// leaves are the shards that hold members as far as this replica knows,
// including the missing children of split shards.
func (l *layout) leaves() []node {
	var out []node
	var walk func(n node)
	walk = func(n node) {
		if sh := l.shards[n]; sh != nil && sh.Spec.Split && n.depth < scimv1.MaxMembershipDepth {
			for _, c := range n.children() {
				walk(c)
			}
			return
		}
		out = append(out, n)
	}
	for _, r := range l.roots() {
		walk(r)
	}
	return out
}

// members returns the group's members, each once: all of a shard that is
// not split; of a split shard not yet cleared, those whose child does not
// exist in this view yet; all of a legacy shard beside the tree, unless the
// tree holds them too.
func (l *layout) members() []scimv1.Member {
	size := 0
	for _, sh := range l.shards {
		size += len(sh.Spec.Members)
	}
	out := make([]scimv1.Member, 0, size)
	for n, sh := range l.shards {
		if !sh.Spec.Split {
			out = append(out, sh.Spec.Members...)
			continue
		}
		for _, m := range sh.Spec.Members {
			if l.shards[n.child(MemberHash(m.Value))] == nil {
				out = append(out, m)
			}
		}
	}
	if len(l.beside) == 0 {
		return out
	}
	seen := make(map[string]bool, len(out))
	for _, m := range out {
		seen[m.Value] = true
	}
	for _, sh := range l.beside {
		for _, m := range sh.Spec.Members {
			if !seen[m.Value] {
				seen[m.Value] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// EffectiveMembers returns the members of one group's shards as the Store
// reads them, each once: a frozen split shard's copy of a member does not
// count once the child covering it exists, so a member the Store removed
// from that child is not a member any more. The projections of members
// (RoleBindings, tenant databases) read through it so that they never grant
// what a removal took away (docs/architecture.md#group-membership).
func EffectiveMembers(shards []*scimv1.ScimMembership) []scimv1.Member {
	if len(shards) == 0 {
		return nil
	}
	return newLayout(shards[0].Spec.Group, shards).members()
}

// LayoutShards lays members out over a new group's shards as the Store
// would after adding them: split shards (empty) down to shards of at most
// DefaultShardMembers, members sorted by id. Only names and specs are set; tests
// and benchmarks use it to seed groups without the SCIM server.
func LayoutShards(group string, members []scimv1.Member) []*scimv1.ScimMembership {
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b scimv1.Member) int { return strings.Compare(a.Value, b.Value) })
	l := &layout{group: group}
	var out []*scimv1.ScimMembership
	var place func(n node, ms []scimv1.Member)
	place = func(n node, ms []scimv1.Member) {
		sh := &scimv1.ScimMembership{ObjectMeta: metav1.ObjectMeta{Name: l.name(n)},
			Spec: scimv1.ScimMembershipSpec{Group: group, Shard: n.index, Depth: l.depthOf(n)}}
		out = append(out, sh)
		if len(ms) <= DefaultShardMembers || n.depth >= scimv1.MaxMembershipDepth {
			sh.Spec.Members = ms
			return
		}
		sh.Spec.Split = true
		for _, c := range n.children() {
			place(c, slices.DeleteFunc(slices.Clone(ms), func(m scimv1.Member) bool { return !c.covers(MemberHash(m.Value)) }))
		}
	}
	place(node{0, 0}, sorted)
	return out
}

// ShardCovers reports whether member's hash places it in shard sh: every
// member of every shard keeps this, whatever depth the shard is at.
func ShardCovers(sh *scimv1.ScimMembership, member string) bool {
	return nodeOf(sh).covers(MemberHash(member))
}
