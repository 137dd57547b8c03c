package tenantdb

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid marks input that can never be written (an empty id, a user
// without userName): retrying it is pointless.
var ErrInvalid = errors.New("invalid tenant database input")

// supersedes reports whether incoming may overwrite stored: a newer version,
// or the same version with different content (a hand edit, or a mapping
// change after an operator upgrade). Both implementations share this rule.
func supersedes[T comparable](stored, incoming T, storedVersion, incomingVersion int64) bool {
	return incomingVersion > storedVersion || (incomingVersion == storedVersion && stored != incoming)
}

// normalizeUsers validates users, keeps one entry per id (the highest
// Version; the later one on a tie) and sorts by id. One entry per id is
// required by ON CONFLICT DO UPDATE; sorting makes concurrent writers lock
// rows in the same order, which avoids deadlocks.
func normalizeUsers(users []User) ([]User, error) {
	for i, u := range users {
		if u.ID == "" {
			return nil, fmt.Errorf("%w: user %d has an empty id", ErrInvalid, i)
		}
		if u.UserName == "" {
			return nil, fmt.Errorf("%w: user %s has an empty userName", ErrInvalid, u.ID)
		}
	}
	return dedupe(users, func(u User) (string, int64) { return u.ID, u.Version }), nil
}

// normalizeGroups is normalizeUsers for groups.
func normalizeGroups(groups []Group) ([]Group, error) {
	for i, g := range groups {
		if g.ID == "" {
			return nil, fmt.Errorf("%w: group %d has an empty id", ErrInvalid, i)
		}
		if g.DisplayName == "" {
			return nil, fmt.Errorf("%w: group %s has an empty displayName", ErrInvalid, g.ID)
		}
	}
	return dedupe(groups, func(g Group) (string, int64) { return g.ID, g.Version }), nil
}

// dedupe keeps one row per key as described on normalizeUsers.
func dedupe[T any](rows []T, key func(T) (string, int64)) []T {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b T) int {
		ka, va := key(a)
		kb, vb := key(b)
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return cmpInt(va, vb)
	})
	// After the stable sort the winner of each id is the last of its run.
	kept := out[:0]
	for i, r := range out {
		id, _ := key(r)
		if i+1 < len(out) {
			if next, _ := key(out[i+1]); next == id {
				continue
			}
		}
		kept = append(kept, r)
	}
	return kept
}

// cmpInt orders two versions.
func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// normalizeDeletions validates deletions and keeps one per id, the highest
// version, sorted by id.
func normalizeDeletions(kind string, dels []Deletion) ([]Deletion, error) {
	for _, d := range dels {
		if d.ID == "" {
			return nil, fmt.Errorf("%w: empty %s id", ErrInvalid, kind)
		}
	}
	return dedupe(dels, func(d Deletion) (string, int64) { return d.ID, d.Version }), nil
}

// deletionColumns returns the unnest parameters for deletions: ids, versions.
func deletionColumns(dels []Deletion) (ids []string, versions []int64) {
	ids, versions = make([]string, len(dels)), make([]int64, len(dels))
	for i, d := range dels {
		ids[i], versions[i] = d.ID, d.Version
	}
	return ids, versions
}

// membership is one (group, user) pair.
type membership struct {
	GroupID, UserID string
}

// normalizeMembers validates a membership map and flattens it to sorted,
// distinct pairs plus the sorted group ids whose membership is replaced.
func normalizeMembers(members map[string][]string) (groups []string, pairs []membership, err error) {
	for g, users := range members {
		if g == "" {
			return nil, nil, fmt.Errorf("%w: empty group id in memberships", ErrInvalid)
		}
		groups = append(groups, g)
		for _, u := range users {
			if u == "" {
				return nil, nil, fmt.Errorf("%w: empty user id in members of group %s", ErrInvalid, g)
			}
			pairs = append(pairs, membership{GroupID: g, UserID: u})
		}
	}
	slices.Sort(groups)
	slices.SortFunc(pairs, compareMembership)
	return groups, slices.Compact(pairs), nil
}

// compareMembership orders pairs by group, then user.
func compareMembership(a, b membership) int {
	if c := strings.Compare(a.GroupID, b.GroupID); c != 0 {
		return c
	}
	return strings.Compare(a.UserID, b.UserID)
}
