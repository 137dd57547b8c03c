package conformance

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestSortedPagesFollowWrites: a listing sorted by name.familyName or
// userName (which the server answers from an ordering it keeps as writes
// arrive; docs/install.md, "Sorted listings") shows every acknowledged write in
// the very next read — creates, deletions, renames and changes of the
// sorted attribute — in the order RFC 7644 §3.4.2.3 gives: case-insensitive,
// users without a value last ascending and first descending, equal values
// in id order both ways. No read waits or retries.
func TestSortedPagesFollowWrites(t *testing.T) {
	t.Parallel()
	ep := newEndpoint(t)
	r := rand.New(rand.NewPCG(19, 3))
	families := []string{"", "smith", "Smith", "jones", "Garcia", "kim"}
	type user struct{ userName, family string }
	users := map[string]*user{} // by id
	created := 0
	create := func() {
		created++
		u := &user{userName: fmt.Sprintf("u%03d-%d", created, r.IntN(100)), family: families[r.IntN(len(families))]}
		name := ""
		if u.family != "" {
			name = fmt.Sprintf(`,"name":{"familyName":%q}`, u.family)
		}
		m := post(t, ep, "Users", fmt.Sprintf(`{"schemas":[%q],"userName":%q%s}`, userURN, u.userName, name))
		users[str(m, "id")] = u
	}
	patch := func(id, path, value string) {
		patchOK(t, ep, "/Users/"+id, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],`+
			`"Operations":[{"op":"replace","path":%q,"value":%q}]}`, path, value))
	}
	for range 12 {
		create()
	}
	// want is the order of ids sorted by key, stable over the id order.
	want := func(key func(*user) string, descending bool, keep func(*user) bool) []string {
		var ids []string
		for id, u := range users {
			if keep(u) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		slices.SortStableFunc(ids, func(a, b string) int {
			ka, kb := key(users[a]), key(users[b])
			if descending {
				ka, kb = kb, ka
			}
			return strings.Compare(ka, kb)
		})
		return ids
	}
	family := func(u *user) string {
		if u.family == "" {
			return "\U0010FFFF" // no value: last ascending
		}
		return strings.ToLower(u.family)
	}
	userName := func(u *user) string { return strings.ToLower(u.userName) }
	all := func(*user) bool { return true }
	check := func(step string) {
		t.Helper()
		for _, tc := range []struct {
			sortBy, filter string
			key            func(*user) string
			keep           func(*user) bool
		}{
			{"name.familyName", "", family, all},
			{"userName", "", userName, all},
			{"name.familyName", `userName co "5"`, family, func(u *user) bool { return strings.Contains(u.userName, "5") }},
		} {
			for _, descending := range []bool{false, true} {
				q := "/Users?sortBy=" + tc.sortBy
				if descending {
					q += "&sortOrder=descending"
				}
				if tc.filter != "" {
					q += "&filter=" + url.QueryEscape(tc.filter)
				}
				page := search(t, ep, q+"&count=1000")
				var got []string
				for _, res := range page.Resources {
					got = append(got, str(res, "id"))
				}
				wantIDs := want(tc.key, descending, tc.keep)
				if page.Total != len(wantIDs) || !slices.Equal(got, wantIDs) {
					t.Fatalf("after %s: %s: %d of %d ids\n%v\nwant\n%v", step, q, len(got), page.Total, got, wantIDs)
				}
				// A page in the middle is the same slice of the order.
				if n := len(wantIDs); n > 4 {
					page = search(t, ep, q+"&startIndex=3&count=3")
					got = got[:0]
					for _, res := range page.Resources {
						got = append(got, str(res, "id"))
					}
					if !slices.Equal(got, wantIDs[2:5]) {
						t.Fatalf("after %s: %s&startIndex=3&count=3: %v, want %v", step, q, got, wantIDs[2:5])
					}
				}
			}
		}
	}
	check("the creates")
	for step := range 24 {
		ids := slices.Sorted(func(yield func(string) bool) {
			for id := range users {
				if !yield(id) {
					return
				}
			}
		})
		id := ids[r.IntN(len(ids))]
		var what string
		switch op := r.IntN(4); {
		case op == 0 || len(users) < 6:
			create()
			what = "a create"
		case op == 1:
			expectStatus(t, ep.Do(t, "DELETE", "/Users/"+id, nil), 204)
			delete(users, id)
			what = "a deletion"
		case op == 2:
			users[id].userName = fmt.Sprintf("r%03d-%d", step, r.IntN(100))
			patch(id, "userName", users[id].userName)
			what = "a rename"
		default:
			users[id].family = families[1+r.IntN(len(families)-1)]
			patch(id, "name.familyName", users[id].family)
			what = "a change of familyName"
		}
		check(fmt.Sprintf("step %d, %s", step, what))
	}
}
