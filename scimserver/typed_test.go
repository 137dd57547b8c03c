package scimserver

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// A listing decides on the stored objects (filter.Typed, filter.SortValue,
// compareSortValues) where it used to decide on renderings. The tests below
// hold the two to each other: for random users and groups and random and
// corpus filters, the typed predicate answers as Filter.Match on the full
// rendering, and a typed sort orders as sortKey on the renderings did.

// fixture is a set of stored resources with their full renderings.
type fixture[T comparable] struct {
	items []T
	full  map[T]map[string]any
	view  filter.View[T]
}

// userFixture is n random users. Their groups are rendered from random
// memberships; the view is leanUser, but for groups, which it reads from
// the store, taken from the full rendering.
func userFixture(seed uint64, n int, realistic bool) fixture[*scimv1.ScimUser] {
	r := rand.New(rand.NewPCG(seed, seed^0x5c1))
	fx := fixture[*scimv1.ScimUser]{full: map[*scimv1.ScimUser]map[string]any{}}
	for i := range n {
		u := randomUser(r, i, realistic)
		fx.items = append(fx.items, u)
		fx.full[u] = userToSCIM(u, randomGroups(r), typedBaseURL)
	}
	req := &request{baseURL: typedBaseURL}
	fx.view = func(u *scimv1.ScimUser, keys []string, m map[string]any) error {
		var rest []string
		for _, k := range keys {
			if strings.EqualFold(k, "groups") {
				m[k] = fx.full[u]["groups"]
			} else {
				rest = append(rest, k)
			}
		}
		return (*Server)(nil).leanUser(context.Background(), req, u, rest, m)
	}
	return fx
}

// groupFixture is n random groups with members; the view is the full
// rendering, as leanGroup's.
func groupFixture(seed uint64, n int) fixture[*scimv1.ScimGroup] {
	r := rand.New(rand.NewPCG(seed, seed^0x6c2))
	fx := fixture[*scimv1.ScimGroup]{full: map[*scimv1.ScimGroup]map[string]any{}}
	for i := range n {
		g, members := randomGroup(r, i)
		fx.items = append(fx.items, g)
		fx.full[g] = groupToSCIM(g, members, typedBaseURL)
	}
	fx.view = func(g *scimv1.ScimGroup, keys []string, m map[string]any) error {
		for _, k := range keys {
			if _, v, ok := schema.Lookup(fx.full[g], k); ok {
				m[k] = v
			}
		}
		return nil
	}
	return fx
}

// checkFilter reports every resource on which the typed predicate and
// Filter.Match on the full rendering (and on the lean view) disagree, and
// returns how many matched.
func checkFilter[T comparable](t testing.TB, fx fixture[T], bind filter.Binder[T], expr string, f *filter.Filter) int {
	t.Helper()
	typed := filter.Compile(f, bind, fx.view)
	matched := 0
	for i, res := range fx.items {
		want := f.Match(fx.full[res])
		got, err := typed.Match(res)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got != want {
			t.Errorf("filter %s on %s: typed %v, Match on the rendering %v", expr, dump(fx.full[res]), got, want)
			return matched
		}
		if i%8 == 0 { // TestLeanUserEqualsTheFullRendering holds lean views to renderings
			lean := map[string]any{}
			if err := fx.view(res, f.Keys(), lean); err != nil {
				t.Fatal(err)
			}
			if f.Match(lean) != want {
				t.Errorf("filter %s on %s: Match on the lean view %v, on the rendering %v", expr, dump(fx.full[res]), !want, want)
				return matched
			}
		}
		if want {
			matched++
		}
	}
	return matched
}

// checkSort reports a sorted listing whose order differs from the order
// sortKey on the full renderings gives (how listings sorted before
// typedDecider), over the matches of f, in both directions, whole and one
// random page.
func checkSort[T comparable](t testing.TB, r *rand.Rand, rt *schema.ResourceType, fx fixture[T], bind filter.Binder[T],
	sortBy string, f *filter.Filter) {
	t.Helper()
	for _, descending := range []bool{false, true} {
		p := listParams{sortBy: sortBy, descending: descending, startIndex: 1, count: len(fx.items)}
		if r.IntN(2) == 0 {
			p.startIndex, p.count = 1+r.IntN(len(fx.items)+1), r.IntN(len(fx.items)+1)
		}
		got, total, err := selectPage(context.Background(), p, len(fx.items), typedDecider(rt, p, f, fx.items, bind, fx.view))
		if err != nil {
			t.Fatal(err)
		}
		want, wantTotal := referencePage(rt, p, f, fx)
		if total != wantTotal || !slices.Equal(got, want) {
			var keys []string
			for _, i := range want {
				keys = append(keys, sortKey(rt, fx.full[fx.items[i]], sortBy))
			}
			t.Errorf("sortBy=%s descending=%v startIndex=%d count=%d filter=%v: page %v of %d, want %v of %d (keys %q)",
				sortBy, descending, p.startIndex, p.count, f != nil, got, total, want, wantTotal, keys)
			return
		}
	}
}

// referencePage is how a listing paged before typedDecider: match on the
// full rendering, sort stably by sortKey, cut the page.
func referencePage[T comparable](rt *schema.ResourceType, p listParams, f *filter.Filter, fx fixture[T]) ([]int, int) {
	type match struct {
		i   int
		key string
	}
	var matched []match
	for i, res := range fx.items {
		if f.Match(fx.full[res]) {
			matched = append(matched, match{i, sortKey(rt, fx.full[res], p.sortBy)})
		}
	}
	sort.SliceStable(matched, func(a, b int) bool {
		if p.descending {
			return matched[a].key > matched[b].key
		}
		return matched[a].key < matched[b].key
	})
	start := min(p.startIndex-1, len(matched))
	out := []int{}
	for _, m := range matched[start:min(start+p.count, len(matched))] {
		out = append(out, m.i)
	}
	return out, len(matched)
}

func dump(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// filters is the corpus of the filter and conformance tests and n random
// filters over rt that parse, with their parsed forms (Lenient, which
// accepts every form Strict does).
func filters(t testing.TB, rt *schema.ResourceType, seed uint64, n int) ([]string, []*filter.Filter) {
	t.Helper()
	var exprs []string
	var parsed []*filter.Filter
	add := func(s string) bool {
		f, err := filter.ParseWith(rt, s, schema.Lenient())
		if err == nil {
			exprs, parsed = append(exprs, s), append(parsed, f)
		}
		return err == nil
	}
	corpus := 0
	for _, s := range corpusFilters(t) {
		if add(s) {
			corpus++
		}
	}
	if rt == userRT && corpus < 100 {
		t.Fatalf("%d filters of the test corpora parse, want over 100", corpus)
	}
	g := filterGen{r: rand.New(rand.NewPCG(seed, 7)), rt: rt}
	for tries := 0; len(exprs) < corpus+n; tries++ {
		if tries > 50*n {
			t.Fatalf("only %d of %d random filters parse", len(exprs)-corpus, tries)
		}
		add(g.expr(3))
	}
	return exprs, parsed
}

// TestTypedFilterAgreesWithMatch: on 150 random users and 60 random groups,
// every filter of the test corpora and 1,000 random ones decide alike on
// the stored object and on its rendering.
func TestTypedFilterAgreesWithMatch(t *testing.T) {
	for _, tc := range []struct {
		rt    *schema.ResourceType
		check func(expr string, f *filter.Filter) int
		n     int
	}{
		{userRT, func() func(string, *filter.Filter) int {
			fx := userFixture(1, 150, false)
			return func(expr string, f *filter.Filter) int { return checkFilter(t, fx, userBinder, expr, f) }
		}(), 150},
		{groupRT, func() func(string, *filter.Filter) int {
			fx := groupFixture(2, 60)
			return func(expr string, f *filter.Filter) int { return checkFilter(t, fx, groupBinder, expr, f) }
		}(), 60},
	} {
		exprs, parsed := filters(t, tc.rt, 3, 1000)
		some, all := 0, 0
		for i, f := range parsed {
			switch tc.check(exprs[i], f) {
			case 0:
			case tc.n:
				all++
			default:
				some++
			}
		}
		t.Logf("%s: %d filters; %d match some resources, %d every one", tc.rt.Name, len(parsed), some, all)
		if some < len(parsed)/5 {
			t.Errorf("%s: only %d of %d filters match some resources and not others: the test decides little", tc.rt.Name, some, len(parsed))
		}
	}
}

// TestTypedSortAgreesWithSortKey: sorted by every attribute path, with and
// without a filter, listings order and page as they did on renderings.
func TestTypedSortAgreesWithSortKey(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	users, groups := userFixture(5, 150, false), groupFixture(6, 60)
	_, userFilters := filters(t, userRT, 7, 20)
	_, groupFilters := filters(t, groupRT, 8, 20)
	for _, sortBy := range paths(userRT) {
		for _, by := range []string{sortBy, strings.ToUpper(sortBy), schema.UserURN + ":" + sortBy, schema.EnterpriseUserURN + ":" + sortBy} {
			if _, err := filter.ResolvePath(userRT, by); err != nil {
				continue
			}
			checkSort(t, r, userRT, users, userBinder, by, nil)
			i := r.IntN(len(userFilters))
			checkSort(t, r, userRT, users, userBinder, by, userFilters[i])
		}
	}
	for _, sortBy := range paths(groupRT) {
		checkSort(t, r, groupRT, groups, groupBinder, sortBy, nil)
		checkSort(t, r, groupRT, groups, groupBinder, sortBy, groupFilters[r.IntN(len(groupFilters))])
	}
}

// unbound are the attributes a listing reads on a view: they need the store
// (groups, members) or the request (meta.location, meta.version, and so
// "meta pr", which asks whether any of meta's sub-attributes has a value).
func unbound(path string, presence bool) bool {
	if presence && strings.EqualFold(path, "meta") {
		return true
	}
	for _, p := range []string{"groups", "members", "meta.location", "meta.version"} {
		if strings.EqualFold(path, p) || strings.HasPrefix(strings.ToLower(path), p+".") {
			return true
		}
	}
	return false
}

// TestTypedCoversEveryStoredAttribute: every attribute path but those read
// through the store or the request is read in place, by a filter and by
// sortBy, so the differential tests above test the typed path and not the
// views.
func TestTypedCoversEveryStoredAttribute(t *testing.T) {
	for _, path := range paths(userRT) {
		viewed := -1 // "$ref" is no name the filter grammar has
		if f, err := filter.Parse(userRT, path+" pr"); err == nil {
			viewed = filter.Compile(f, userBinder, nil).Viewed()
		}
		get, err := filter.SortValue(userRT, path, userBinder)
		if err != nil {
			t.Fatal(err)
		}
		if viewed >= 0 && (viewed > 0) != unbound(path, true) {
			t.Errorf("%s pr: decided on a view %v", path, viewed != 0)
		}
		if (get == nil) != unbound(path, false) {
			t.Errorf("sortBy=%s: read from a view %v", path, get == nil)
		}
	}
	for _, path := range paths(groupRT) {
		get, _ := filter.SortValue(groupRT, path, groupBinder)
		if unbound(path, false) == (get != nil) {
			t.Errorf("group %s: sortBy in place %v", path, get != nil)
		}
	}
}

// TestTypedMatchAllocatesNothing: deciding a filter or comparing sort keys
// on stored users allocates nothing per user, which is what keeps a listing
// at the cost of its page (test/cost).
func TestTypedMatchAllocatesNothing(t *testing.T) {
	fx := userFixture(9, 200, true)
	for _, expr := range []string{
		`userName sw "ada"`, `displayName co "lovelace" and emails[type eq "work"]`,
		`emails.value eq "user-04321@example.com"`, `meta.lastModified gt "2020-01-01T00:00:00Z"`,
		`meta.created co "2024"`, `meta.created le "2024-01-01T00:00:00+02:00"`, `meta.resourceType eq "User"`,
		`name.familyName pr or not (active eq true)`, `name eq null`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "ADA"`,
		`addresses[locality eq "Paris" and primary eq true] or roles[primary eq "True"]`,
		`emails[type eq "work"].value ew ".com"`, `title ne "x" and userType eq null and emails ne "a"`,
		`phoneNumbers co "555" or x509Certificates.value sw "MII" or ims pr`,
	} {
		f, err := filter.ParseWith(userRT, expr, schema.Lenient())
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		typed := filter.Compile(f, userBinder, fx.view)
		if typed.Viewed() != 0 {
			t.Fatalf("%s: decided on a view", expr)
		}
		if allocs := testing.AllocsPerRun(3, func() {
			for _, u := range fx.items {
				_, _ = typed.Match(u)
			}
		}); allocs != 0 {
			t.Errorf("%s: %.0f allocations per %d users, want none", expr, allocs, len(fx.items))
		}
	}
	for _, sortBy := range paths(userRT) {
		get, _ := filter.SortValue(userRT, sortBy, userBinder)
		if get == nil {
			continue
		}
		if allocs := testing.AllocsPerRun(3, func() {
			for i := 1; i < len(fx.items); i++ {
				a, aok := get(fx.items[i-1])
				b, bok := get(fx.items[i])
				compareSortValues(a, aok, b, bok)
			}
		}); allocs != 0 {
			t.Errorf("sortBy=%s: %.0f allocations comparing %d users, want none", sortBy, allocs, len(fx.items))
		}
	}
}

// FuzzTypedFilter: for any filter and sortBy, on users and groups generated
// from the seed, the typed path decides and orders as the renderings do
// (make fuzz).
func FuzzTypedFilter(f *testing.F) {
	// Seeds: every fourth filter of the corpora (the tests above run them
	// all) and random ones, with every sortBy path.
	g := filterGen{r: rand.New(rand.NewPCG(10, 10)), rt: userRT}
	sorts := paths(userRT)
	i := 0
	for _, s := range corpusFilters(f) {
		if _, err := filter.ParseWith(userRT, s, schema.Lenient()); err == nil {
			if i++; i%4 == 0 {
				f.Add(s, sorts[i%len(sorts)], uint64(i))
			}
		}
	}
	for j := range 50 {
		f.Add(g.expr(3), sorts[j%len(sorts)], uint64(j))
	}
	f.Fuzz(func(t *testing.T, expr, sortBy string, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		users, groups := userFixture(seed, 24, false), groupFixture(seed, 12)
		for _, q := range []schema.Quirks{schema.Strict(), schema.Lenient()} {
			uf, uerr := filter.ParseWith(userRT, expr, q)
			if uerr == nil {
				checkFilter(t, users, userBinder, expr, uf)
			}
			if _, err := filter.ResolvePath(userRT, sortBy); err == nil {
				checkSort(t, r, userRT, users, userBinder, sortBy, uf)
			}
			gf, gerr := filter.ParseWith(groupRT, expr, q)
			if gerr == nil {
				checkFilter(t, groups, groupBinder, expr, gf)
			}
			if _, err := filter.ResolvePath(groupRT, sortBy); err == nil {
				checkSort(t, r, groupRT, groups, groupBinder, sortBy, gf)
			}
		}
	})
}
