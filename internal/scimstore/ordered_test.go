package scimstore

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// byDisplayName orders users by displayName, ignoring case; few distinct
// values, so most keys tie.
func byDisplayName(a, b *scimv1.ScimUser) int {
	return cmp.Compare(strings.ToLower(a.Spec.DisplayName), strings.ToLower(b.Spec.DisplayName))
}

// referenceOrder is a stable sort of users in name order: what a sorted
// listing returns.
func referenceOrder(users map[string]*scimv1.ScimUser, descending bool) []string {
	var all []*scimv1.ScimUser
	for _, u := range users {
		all = append(all, u)
	}
	slices.SortFunc(all, func(a, b *scimv1.ScimUser) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortStableFunc(all, func(a, b *scimv1.ScimUser) int {
		if descending {
			a, b = b, a
		}
		return byDisplayName(a, b)
	})
	names := make([]string, len(all))
	for i, u := range all {
		names[i] = u.Name
	}
	return names
}

func namesOf(users []*scimv1.ScimUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.Name
	}
	return out
}

// asAny is u as the informer hands it over: nil, not a nil *ScimUser.
func asAny(u *scimv1.ScimUser) any {
	if u == nil {
		return nil
	}
	return u
}

func orderedUser(name, display, endpoint string, deleting bool) *scimv1.ScimUser {
	u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	u.Spec.DisplayName, u.Spec.Endpoint = display, endpoint
	if deleting {
		u.DeletionTimestamp = &metav1.Time{}
	}
	return u
}

// TestOrderingFollowsEvents holds an ordering, fed add, update (rename,
// marking for deletion, moving endpoint) and delete events, against a stable
// sort of the live users, whole and by page, both ways.
func TestOrderingFollowsEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	set := newOrderings(func(u *scimv1.ScimUser) string { return u.Spec.Endpoint })
	cached := map[string]*scimv1.ScimUser{} // what the informer holds, every endpoint
	live := func() map[string]*scimv1.ScimUser {
		out := map[string]*scimv1.ScimUser{}
		for n, u := range cached {
			if u.Spec.Endpoint == "okta" && u.DeletionTimestamp == nil {
				out[n] = u
			}
		}
		return out
	}
	displays := []string{"", "Ada", "ada", "Bob", "carol", "Dave", "eve"}
	event := func() {
		name := fmt.Sprintf("user-%04d", rng.IntN(1500))
		old := cached[name]
		if old != nil && rng.IntN(4) == 0 {
			delete(cached, name)
			set.reorder(old, nil)
			return
		}
		endpoint := "okta"
		if rng.IntN(10) == 0 {
			endpoint = "entra"
		}
		u := orderedUser(name, displays[rng.IntN(len(displays))], endpoint, rng.IntN(12) == 0)
		cached[name] = u
		if old == nil {
			set.reorder(nil, u)
		} else {
			set.reorder(old, u)
		}
	}
	for range 500 {
		event()
	}
	ord, err := set.get("ns/okta", "displayName", byDisplayName, func() ([]*scimv1.ScimUser, error) {
		return slices.Collect(func(yield func(*scimv1.ScimUser) bool) {
			for _, u := range live() {
				if !yield(u) {
					return
				}
			}
		}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for step := range 6000 {
		event()
		if step%97 != 0 {
			continue
		}
		for _, descending := range []bool{false, true} {
			want := referenceOrder(live(), descending)
			if got := namesOf(ord.All(descending)); !slices.Equal(got, want) {
				t.Fatalf("step %d descending %v: All\n%v\nwant\n%v", step, descending, got, want)
			}
			for _, page := range [][2]int{{0, 100}, {len(want) / 2, 100}, {max(len(want)-3, 0), 100}, {rng.IntN(len(want) + 1), rng.IntN(300)}, {len(want), 10}, {5, 0}} {
				got, total := ord.Page(page[0], page[1], descending)
				lo := min(page[0], len(want))
				wantPage := want[lo:min(lo+max(page[1], 0), len(want))]
				if total != len(want) || !slices.Equal(namesOf(got), wantPage) {
					t.Fatalf("step %d descending %v: Page(%d, %d) = %v of %d, want %v of %d",
						step, descending, page[0], page[1], namesOf(got), total, wantPage, len(want))
				}
			}
		}
	}
}

// TestOrderingBuiltAheadOfItsEvents: the cache holds an object's newer
// states before the handler delivers them; an ordering built from the cache
// meanwhile and then fed the pending events ends with each object once, in
// its newest state.
func TestOrderingBuiltAheadOfItsEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	displays := []string{"Ada", "Bob", "carol", "Dave"}
	for trial := range 300 {
		type event struct{ old, obj *scimv1.ScimUser }
		var history []event
		cached := map[string]*scimv1.ScimUser{}
		for range 40 {
			name := fmt.Sprintf("u%d", rng.IntN(6))
			old := cached[name]
			if old != nil && rng.IntN(4) == 0 {
				delete(cached, name)
				history = append(history, event{old, nil})
				continue
			}
			u := orderedUser(name, displays[rng.IntN(len(displays))], "okta", rng.IntN(8) == 0)
			cached[name] = u
			history = append(history, event{old, u})
		}
		// The handler has delivered history[:cut] when the listing is
		// built; the listing reads the cache, which holds every state.
		cut := rng.IntN(len(history) + 1)
		set := newOrderings(func(u *scimv1.ScimUser) string { return u.Spec.Endpoint })
		set.count.Add(1) // as if another ordering of the kind existed
		for _, e := range history[:cut] {
			set.reorder(asAny(e.old), asAny(e.obj))
		}
		var listed []*scimv1.ScimUser
		for _, u := range cached {
			if u.DeletionTimestamp == nil {
				listed = append(listed, u)
			}
		}
		ord, err := set.get("ns/okta", "displayName", byDisplayName, func() ([]*scimv1.ScimUser, error) { return listed, nil })
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range history[cut:] {
			set.reorder(asAny(e.old), asAny(e.obj))
		}
		want := referenceOrder(func() map[string]*scimv1.ScimUser {
			out := map[string]*scimv1.ScimUser{}
			for _, u := range listed {
				out[u.Name] = u
			}
			return out
		}(), false)
		if got := namesOf(ord.All(false)); !slices.Equal(got, want) {
			t.Fatalf("trial %d, built after %d of %d events: %v, want %v", trial, cut, len(history), got, want)
		}
		for _, u := range ord.All(false) {
			if u != cached[u.Name] {
				t.Fatalf("trial %d: %s is held in an older state", trial, u.Name)
			}
		}
	}
}

// TestOrderingOfAnEmptiedEndpointIsDropped: once an endpoint's last user
// is gone its orderings are too, and a listing builds them anew.
func TestOrderingOfAnEmptiedEndpointIsDropped(t *testing.T) {
	set := newOrderings(func(u *scimv1.ScimUser) string { return u.Spec.Endpoint })
	a, b := orderedUser("a", "Ada", "okta", false), orderedUser("b", "Bob", "okta", false)
	list := func() ([]*scimv1.ScimUser, error) { return []*scimv1.ScimUser{a, b}, nil }
	if _, err := set.get("ns/okta", "displayName", byDisplayName, list); err != nil {
		t.Fatal(err)
	}
	renamed := orderedUser("a", "Zoe", "okta", false)
	set.reorder(a, renamed)
	set.reorder(b, nil)
	if n := set.count.Load(); n != 1 {
		t.Fatalf("%d orderings after the endpoint kept one user, want 1", n)
	}
	set.reorder(renamed, nil)
	if n := set.count.Load(); n != 0 || len(set.endpoints) != 0 {
		t.Fatalf("%d orderings (%d endpoints) after the endpoint's last user left, want none", n, len(set.endpoints))
	}
	ord, err := set.get("ns/okta", "displayName", byDisplayName, func() ([]*scimv1.ScimUser, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, total := ord.Page(0, 10, false); len(got) != 0 || total != 0 {
		t.Fatalf("rebuilt ordering holds %d of %d", len(got), total)
	}
}
