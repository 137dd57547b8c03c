package tenantapp

import (
	"slices"
	"strings"

	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// plan is the batch of writes that turns one picture of the tables into
// another: at most one call per tenantdb write method.
type plan struct {
	upsertUsers  []tenantdb.User
	deleteUsers  []tenantdb.Deletion
	upsertGroups []tenantdb.Group
	deleteGroups []tenantdb.Deletion
	// members replaces the whole membership of each listed group.
	members map[string][]string
}

// empty reports whether the plan writes nothing.
func (p plan) empty() bool {
	return len(p.upsertUsers)+len(p.deleteUsers)+len(p.upsertGroups)+len(p.deleteGroups)+len(p.members) == 0
}

// generations are the metadata.generation of an endpoint's users and groups
// (those being deleted included), by id: the version of a deletion.
type generations map[string]int64

// generationsOf collects the generations of in.
func generationsOf(in inputs) (users, groups generations) {
	users, groups = make(generations, len(in.users)), make(generations, len(in.groups))
	for _, u := range in.users {
		users[u.Name] = u.Generation
	}
	for _, g := range in.groups {
		groups[g.Name] = g.Generation
	}
	return users, groups
}

// deletion is the deletion of a row at the resource's generation. A
// resource gone from the cache (ids are never reused) is buried one version
// above its row, so no writer that saw its last generation can recreate it.
func (g generations) deletion(id string, rowVersion int64) tenantdb.Deletion {
	if gen, ok := g[id]; ok {
		return tenantdb.Deletion{ID: id, Version: max(gen, rowVersion)}
	}
	return tenantdb.Deletion{ID: id, Version: rowVersion + 1}
}

// absent returns the generations of the resources that have no row in want,
// for FullSync's tombstones.
func (g generations) absent(has func(id string) bool) map[string]int64 {
	out := map[string]int64{}
	for id, gen := range g {
		if !has(id) {
			out[id] = gen
		}
	}
	return out
}

// diffRows plans the writes that make the tables, holding have, hold want.
// Deletions carry the generation at which the resource lost its row, so the
// database keeps a stale writer from bringing it back. Memberships of
// deleted users and groups need no write: the foreign keys cascade. Output
// is sorted by id so equal inputs give equal plans.
func diffRows(have, want rows, userGens, groupGens generations) plan {
	var p plan
	for id, u := range want.users {
		if old, ok := have.users[id]; !ok || old != u {
			p.upsertUsers = append(p.upsertUsers, u)
		}
	}
	for id, old := range have.users {
		if _, ok := want.users[id]; !ok {
			p.deleteUsers = append(p.deleteUsers, userGens.deletion(id, old.Version))
		}
	}
	for id, g := range want.groups {
		if old, ok := have.groups[id]; !ok || old != g {
			p.upsertGroups = append(p.upsertGroups, g)
		}
	}
	for id, old := range have.groups {
		if _, ok := want.groups[id]; !ok {
			p.deleteGroups = append(p.deleteGroups, groupGens.deletion(id, old.Version))
		}
	}
	for g, ids := range want.members {
		if !slices.Equal(have.members[g], ids) {
			if p.members == nil {
				p.members = map[string][]string{}
			}
			p.members[g] = ids
		}
	}
	slices.SortFunc(p.upsertUsers, func(a, b tenantdb.User) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(p.upsertGroups, func(a, b tenantdb.Group) int { return strings.Compare(a.ID, b.ID) })
	byID := func(a, b tenantdb.Deletion) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(p.deleteUsers, byID)
	slices.SortFunc(p.deleteGroups, byID)
	return p
}
