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
// many were kept because the stored version is newer.
func (f *Fake) applyUsers(users []User) (upserted, kept int) {
	for _, u := range users {
		stored, ok := f.users[u.ID]
		switch {
		case !ok || supersedes(stored, u, stored.Version, u.Version):
			f.users[u.ID] = u
			upserted++
		case stored.Version > u.Version:
			kept++
		}
	}
	return upserted, kept
}

// DeleteUsers removes users and their memberships.
func (f *Fake) DeleteUsers(_ context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpDeleteUsers, true); err != nil {
		return err
	}
	ids, err := normalizeIDs("user", ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		delete(f.users, id)
		for _, m := range f.members {
			delete(m, id)
		}
	}
	return nil
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
		case !ok || supersedes(stored, g, stored.Version, g.Version):
			f.groups[g.ID] = g
			upserted++
		case stored.Version > g.Version:
			kept++
		}
	}
	return upserted, kept
}

// DeleteGroups removes groups and their memberships.
func (f *Fake) DeleteGroups(_ context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(OpDeleteGroups, true); err != nil {
		return err
	}
	ids, err := normalizeIDs("group", ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		delete(f.groups, id)
		delete(f.members, id)
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
	var res SyncResult
	res.UsersUpserted, res.UsersKept = f.applyUsers(users)
	res.GroupsUpserted, res.GroupsKept = f.applyGroups(groups)
	res.UsersDeleted = deleteAbsent(f.users, users, func(u User) string { return u.ID })
	res.GroupsDeleted = deleteAbsent(f.groups, groups, func(g Group) string { return g.ID })

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

// deleteAbsent removes the rows of stored whose id is not in desired and
// returns how many it removed.
func deleteAbsent[T any](stored map[string]T, desired []T, id func(T) string) int {
	keep := make(map[string]bool, len(desired))
	for _, d := range desired {
		keep[id(d)] = true
	}
	n := 0
	for k := range stored {
		if !keep[k] {
			delete(stored, k)
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
