package tenantdb

import (
	"context"
	"slices"
)

// ApplyUsers upserts users under the version guard.
func (f *Fake) ApplyUsers(_ context.Context, users []User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpApplyUsers, true); err != nil {
		return err
	}
	users, err := normalizeUsers(users)
	if err != nil {
		return err
	}
	f.applyUsers(users)
	return nil
}

// applyUsers upserts normalised users and returns how many changed and how
// many were kept because the stored version, or a tombstone's, is newer.
func (f *Fake) applyUsers(users []User) (upserted, kept int) {
	for _, u := range users {
		stored, ok := f.users[u.ID]
		switch {
		case !ok && f.deletedUsers[u.ID] > u.Version:
			kept++
		case !ok || supersedes(stored, u, stored.Version, u.Version):
			f.users[u.ID] = u
			delete(f.deletedUsers, u.ID)
			upserted++
		case stored.Version > u.Version:
			kept++
		}
	}
	return upserted, kept
}

// DeleteUsers removes users not holding a newer version, and their
// memberships, and records tombstones.
func (f *Fake) DeleteUsers(_ context.Context, users []Deletion) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpDeleteUsers, true); err != nil {
		return err
	}
	users, err := normalizeDeletions("user", users)
	if err != nil {
		return err
	}
	for _, d := range users {
		if stored, ok := f.users[d.ID]; ok {
			if stored.Version > d.Version {
				continue
			}
			f.deleteUser(d.ID)
		}
		f.deletedUsers[d.ID] = max(f.deletedUsers[d.ID], d.Version)
	}
	return nil
}

// deleteUser removes a user row and its memberships.
func (f *Fake) deleteUser(id string) {
	delete(f.users, id)
	for _, m := range f.members {
		delete(m, id)
	}
}

// ApplyGroups upserts groups under the version guard.
func (f *Fake) ApplyGroups(_ context.Context, groups []Group) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpApplyGroups, true); err != nil {
		return err
	}
	groups, err := normalizeGroups(groups)
	if err != nil {
		return err
	}
	f.applyGroups(groups)
	return nil
}

// applyGroups is applyUsers for groups.
func (f *Fake) applyGroups(groups []Group) (upserted, kept int) {
	for _, g := range groups {
		stored, ok := f.groups[g.ID]
		switch {
		case !ok && f.deletedGroups[g.ID] > g.Version:
			kept++
		case !ok || supersedes(stored, g, stored.Version, g.Version):
			f.groups[g.ID] = g
			delete(f.deletedGroups, g.ID)
			upserted++
		case stored.Version > g.Version:
			kept++
		}
	}
	return upserted, kept
}

// DeleteGroups is DeleteUsers for groups.
func (f *Fake) DeleteGroups(_ context.Context, groups []Deletion) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpDeleteGroups, true); err != nil {
		return err
	}
	groups, err := normalizeDeletions("group", groups)
	if err != nil {
		return err
	}
	for _, d := range groups {
		if stored, ok := f.groups[d.ID]; ok {
			if stored.Version > d.Version {
				continue
			}
			delete(f.groups, d.ID)
			delete(f.members, d.ID)
		}
		f.deletedGroups[d.ID] = max(f.deletedGroups[d.ID], d.Version)
	}
	return nil
}

// SetMembers replaces the memberships of the given groups.
func (f *Fake) SetMembers(_ context.Context, members map[string][]string) (MembershipResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpSetMembers, true); err != nil {
		return MembershipResult{}, err
	}
	groups, pairs, err := normalizeMembers(members)
	if err != nil {
		return MembershipResult{}, err
	}
	return f.replaceMembers(groups, pairs), nil
}

// replaceMembers gives each of groups exactly its pairs whose group and user
// exist.
func (f *Fake) replaceMembers(groups []string, pairs []membership) MembershipResult {
	want := map[string]map[string]bool{}
	var res MembershipResult
	for _, m := range pairs {
		_, okG := f.groups[m.GroupID]
		_, okU := f.users[m.UserID]
		if !okG || !okU {
			res.Skipped++
			continue
		}
		if want[m.GroupID] == nil {
			want[m.GroupID] = map[string]bool{}
		}
		want[m.GroupID][m.UserID] = true
	}
	for _, g := range groups {
		for u := range f.members[g] {
			if !want[g][u] {
				res.Removed++
			}
		}
		for u := range want[g] {
			if !f.members[g][u] {
				res.Added++
			}
		}
		if len(want[g]) == 0 {
			delete(f.members, g)
		} else {
			f.members[g] = want[g]
		}
	}
	return res
}

// FullSync makes the content equal to state, with Postgres's counts.
func (f *Fake) FullSync(_ context.Context, state State) (SyncResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpFullSync, true); err != nil {
		return SyncResult{}, err
	}
	users, err := normalizeUsers(state.Users)
	if err != nil {
		return SyncResult{}, err
	}
	groups, err := normalizeGroups(state.Groups)
	if err != nil {
		return SyncResult{}, err
	}
	_, pairs, err := normalizeMembers(state.Members)
	if err != nil {
		return SyncResult{}, err
	}
	if _, err := stateDeletions(state); err != nil {
		return SyncResult{}, err
	}
	var res SyncResult
	res.UsersUpserted, res.UsersKept = f.applyUsers(users)
	res.GroupsUpserted, res.GroupsKept = f.applyGroups(groups)
	res.UsersDeleted = deleteAbsent(f.users, users, f.deletedUsers, state.DeletedUsers,
		func(u User) string { return u.ID }, func(u User) int64 { return u.Version })
	res.GroupsDeleted = deleteAbsent(f.groups, groups, f.deletedGroups, state.DeletedGroups,
		func(g Group) string { return g.ID }, func(g Group) int64 { return g.Version })

	// Every group, existing or desired, gets exactly its desired members;
	// memberships of deleted rows count as removed, as in Postgres.
	all := map[string]bool{}
	for g := range f.members {
		all[g] = true
	}
	for _, m := range pairs {
		all[m.GroupID] = true
	}
	res.Members = f.replaceMembers(sortedKeys(all), pairs)
	return res, nil
}

// deleteAbsent removes the rows of stored whose id is not in desired,
// recording tombstones at their versions (or the given deletion's, when
// higher), and returns how many it removed.
func deleteAbsent[T any](stored map[string]T, desired []T, tombstones, deleted map[string]int64, id func(T) string, version func(T) int64) int {
	keep := make(map[string]bool, len(desired))
	for _, d := range desired {
		keep[id(d)] = true
	}
	n := 0
	for k, row := range stored {
		if !keep[k] {
			delete(stored, k)
			tombstones[k] = max(tombstones[k], version(row), deleted[k])
			n++
		}
	}
	return n
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
