package scimserver

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/scimserver/filter"
	"github.com/scim-operator/scim-operator/scimserver/schema"
)

// A sorted listing reads an ordering the Store keeps (orderedSelect) where
// it used to sort every resource per request (selectPage, typedDecider).
// TestOrderedAgreesWithSorting holds the two to each other between writes;
// test/conformance's TestSortedPagesFollowWrites does so against a real
// API server.

// followedInformers are indexedInformers whose informers deliver events to
// handlers, as the manager's do, so a Store can Follow them; a test writes
// to the cache with write, which stores the object and then calls the
// handlers, as an informer does.
type followedInformers struct {
	*indexedInformers
	handlers map[reflect.Type][]toolscache.ResourceEventHandler
}

func (f *followedInformers) GetInformer(_ context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	return &followedInformer{indexedInformer: f.informerOf(obj), f: f, t: reflect.TypeOf(obj)}, nil
}

type followedInformer struct {
	*indexedInformer
	f *followedInformers
	t reflect.Type
}

func (i *followedInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	i.f.handlers[i.t] = append(i.f.handlers[i.t], h)
	for _, o := range i.indexer.List() {
		h.OnAdd(o, true)
	}
	return synced{}, nil
}

type synced struct {
	toolscache.ResourceEventHandlerRegistration
}

func (synced) HasSynced() bool { return true }

// write moves obj from old to obj in the cache (old nil: added; obj nil:
// deleted) and tells the handlers.
func (f *followedInformers) write(t testing.TB, old, obj client.Object) {
	t.Helper()
	o := obj
	if o == nil {
		o = old
	}
	indexer := f.informerOf(o).indexer
	var err error
	switch {
	case old == nil:
		err = indexer.Add(obj)
	case obj == nil:
		err = indexer.Delete(old)
	default:
		err = indexer.Update(obj)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range f.handlers[reflect.TypeOf(o)] {
		switch {
		case old == nil:
			h.OnAdd(obj, false)
		case obj == nil:
			h.OnDelete(old)
		default:
			h.OnUpdate(old, obj)
		}
	}
}

// TestOrderedAgreesWithSorting: through random creates, deletions,
// deletions held by a finalizer, userName changes, changes of the sorted
// attributes and replacements of users, every listing sorted by an ordered
// attribute (in any spelling, both ways, with and without filter, on random
// pages) answers from the Store's orderings the page and totalResults that
// sorting the cache's users per request answers.
func TestOrderedAgreesWithSorting(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 9))
	fx := userFixture(10, 300, true)
	informers := &followedInformers{indexedInformers: &indexedInformers{informers: map[reflect.Type]*indexedInformer{}},
		handlers: map[reflect.Type][]toolscache.ResourceEventHandler{}}
	if err := scimstore.RegisterIndexes(ctx, informers); err != nil {
		t.Fatal(err)
	}
	live := map[string]*scimv1.ScimUser{}
	for _, u := range fx.items {
		informers.write(t, nil, u)
		live[u.Name] = u
	}
	store := scimstore.New(nil, nil, informers, scimstore.Options{})
	if err := store.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	ep := types.NamespacedName{Namespace: "ns", Name: "okta"}
	_, userFilters := filters(t, userRT, 11, 30)
	var sortBys []string
	for _, path := range paths(userRT) {
		if orderKey(userRT, path) != "" {
			sortBys = append(sortBys, path, strings.ToUpper(path), schema.UserURN+":"+path)
		}
	}
	if len(sortBys) < 3*8 {
		t.Fatalf("only %v are kept in order", sortBys)
	}
	created, rv := len(fx.items), 100000
	for round := range 60 {
		for range 1 + r.IntN(8) {
			rv++
			mutate(t, r, informers, live, &created, rv)
		}
		for range 6 {
			sortBy := sortBys[r.IntN(len(sortBys))]
			var f *filter.Filter
			if r.IntN(2) == 0 {
				f = userFilters[r.IntN(len(userFilters))]
			}
			p := listParams{sortBy: sortBy, descending: r.IntN(2) == 0, startIndex: 1 + r.IntN(len(live)+2), count: r.IntN(len(live) + 1)}
			if r.IntN(3) == 0 {
				p.startIndex, p.count = 1, len(live)+1
			}
			items, err := store.ListUsers(ctx, ep, "", "")
			if err != nil {
				t.Fatal(err)
			}
			idx, wantTotal, err := selectPage(ctx, p, len(items), typedDecider(userRT, p, f, items, userBinder, fx.view))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range idx {
				want = append(want, items[i].Name)
			}
			ord, err := ordering(userRT, sortBy, userBinder, func(key string, cmp func(a, b *scimv1.ScimUser) int) (*scimstore.Ordered[*scimv1.ScimUser], error) {
				return store.OrderedUsers(ctx, ep, key, cmp)
			})
			if err != nil || ord == nil {
				t.Fatalf("sortBy=%s: no ordering (%v)", sortBy, err)
			}
			page, total, err := orderedSelect(ctx, p, f, ord, userBinder, fx.view)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range page {
				got = append(got, u.Name)
				if u != live[u.Name] {
					t.Fatalf("round %d sortBy=%s: %s is listed in a state it has left", round, sortBy, u.Name)
				}
			}
			if total != wantTotal || !slices.Equal(got, want) {
				t.Fatalf("round %d sortBy=%s descending=%v startIndex=%d count=%d filter=%v: page %v of %d, want %v of %d",
					round, sortBy, p.descending, p.startIndex, p.count, f != nil, got, total, want, wantTotal)
			}
		}
	}
}

// TestOrderedGroupsAgreeWithSorting is TestOrderedAgreesWithSorting for
// groups: creates, deletions, displayName and lastModified changes.
func TestOrderedGroupsAgreeWithSorting(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(12, 12))
	fx := groupFixture(13, 80)
	informers := &followedInformers{indexedInformers: &indexedInformers{informers: map[reflect.Type]*indexedInformer{}},
		handlers: map[reflect.Type][]toolscache.ResourceEventHandler{}}
	if err := scimstore.RegisterIndexes(ctx, informers); err != nil {
		t.Fatal(err)
	}
	live := map[string]*scimv1.ScimGroup{}
	for _, g := range fx.items {
		g.Spec.Endpoint = "okta"
		informers.write(t, nil, g)
		live[g.Name] = g
	}
	store := scimstore.New(nil, nil, informers, scimstore.Options{})
	if err := store.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	ep := types.NamespacedName{Namespace: "ns", Name: "okta"}
	_, groupFilters := filters(t, groupRT, 14, 20)
	var sortBys []string
	for _, path := range paths(groupRT) {
		if orderKey(groupRT, path) != "" {
			sortBys = append(sortBys, path)
		}
	}
	if len(sortBys) != 4 {
		t.Fatalf("%v are kept in order, want displayName, externalId and meta.created/lastModified", sortBys)
	}
	for round := range 60 {
		names := slices.Sorted(maps.Keys(live))
		old := live[names[r.IntN(len(names))]]
		g := old.DeepCopy()
		g.ResourceVersion = strconv.Itoa(200000 + round)
		switch r.IntN(4) {
		case 0:
			g, _ = randomGroup(r, 1000+round)
			g.Spec.Endpoint = "okta"
			informers.write(t, nil, g)
		case 1:
			informers.write(t, old, nil)
			delete(live, old.Name)
			g = nil
		case 2:
			g.Spec.DisplayName = maybe(r)
			informers.write(t, old, g)
		default:
			g.Annotations = map[string]string{AnnotationLastModified: randomStamp(r, true)}
			informers.write(t, old, g)
		}
		if g != nil {
			live[g.Name] = g
		}
		for _, sortBy := range sortBys {
			var f *filter.Filter
			if r.IntN(2) == 0 {
				f = groupFilters[r.IntN(len(groupFilters))]
			}
			p := listParams{sortBy: sortBy, descending: r.IntN(2) == 0, startIndex: 1 + r.IntN(len(live)+2), count: r.IntN(len(live) + 1)}
			items, err := store.ListGroups(ctx, ep, "", "")
			if err != nil {
				t.Fatal(err)
			}
			idx, wantTotal, err := selectPage(ctx, p, len(items), typedDecider(groupRT, p, f, items, groupBinder, fx.view))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range idx {
				want = append(want, items[i].Name)
			}
			ord, err := ordering(groupRT, sortBy, groupBinder, func(key string, cmp func(a, b *scimv1.ScimGroup) int) (*scimstore.Ordered[*scimv1.ScimGroup], error) {
				return store.OrderedGroups(ctx, ep, key, cmp)
			})
			if err != nil || ord == nil {
				t.Fatalf("sortBy=%s: no ordering (%v)", sortBy, err)
			}
			page, total, err := orderedSelect(ctx, p, f, ord, groupBinder, fx.view)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range page {
				got = append(got, g.Name)
			}
			if total != wantTotal || !slices.Equal(got, want) {
				t.Fatalf("round %d sortBy=%s descending=%v startIndex=%d count=%d filter=%v: page %v of %d, want %v of %d",
					round, sortBy, p.descending, p.startIndex, p.count, f != nil, got, total, want, wantTotal)
			}
		}
	}
}

// mutate makes one random write to the users: a create, a deletion, the
// start of a deletion a finalizer holds, or a change of userName,
// name.familyName, displayName, emails, lastModified or everything.
func mutate(t *testing.T, r *rand.Rand, informers *followedInformers, live map[string]*scimv1.ScimUser, created *int, rv int) {
	t.Helper()
	names := slices.Sorted(maps.Keys(live))
	old := live[names[r.IntN(len(names))]]
	u := old.DeepCopy()
	u.ResourceVersion = strconv.Itoa(rv)
	switch r.IntN(8) {
	case 0:
		u = randomUser(r, *created, true)
		*created++
		informers.write(t, nil, u)
		live[u.Name] = u
		return
	case 1:
		informers.write(t, old, nil)
		delete(live, old.Name)
		return
	case 2:
		u.DeletionTimestamp = &metav1.Time{}
		informers.write(t, old, u)
		delete(live, old.Name) // the store lists it no more
		return
	case 3:
		u.Spec.UserName = word(r) + "x"
	case 4:
		if u.Spec.Name == nil {
			u.Spec.Name = &scimv1.Name{}
		}
		u.Spec.Name.FamilyName = maybe(r)
	case 5:
		u.Spec.DisplayName = maybe(r)
		u.Spec.Emails = randomMulti(r)
	case 6:
		u.Annotations = map[string]string{AnnotationLastModified: randomStamp(r, true)}
	default:
		u = randomUser(r, 0, true)
		u.Name, u.ResourceVersion = old.Name, strconv.Itoa(rv)
	}
	informers.write(t, old, u)
	live[u.Name] = u
}

// BenchmarkSortedPage is the bench's sorted read at 100,000 users: a page
// of 100 at the middle, sorted by name.familyName descending, per request
// (sort) and from the ordering (ordered), and the ordering's first build.
func BenchmarkSortedPage(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	informers := &followedInformers{indexedInformers: &indexedInformers{informers: map[reflect.Type]*indexedInformer{}},
		handlers: map[reflect.Type][]toolscache.ResourceEventHandler{}}
	if err := scimstore.RegisterIndexes(ctx, informers); err != nil {
		b.Fatal(err)
	}
	families := []string{"Smith", "Jones", "Garcia", "Müller", "Nguyen", "Kim", "Rossi", "Dubois"}
	for i := range n {
		u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("user-%08x", uint32(i)*2654435761),
			ResourceVersion: strconv.Itoa(i + 1)}}
		u.Spec.Endpoint, u.Spec.UserName = "okta", fmt.Sprintf("user%d@example.com", i)
		u.Spec.Name = &scimv1.Name{FamilyName: fmt.Sprintf("%s%d", families[i%len(families)], i%5000), GivenName: "Ada"}
		informers.write(b, nil, u)
	}
	store := scimstore.New(nil, nil, informers, scimstore.Options{})
	if err := store.Follow(ctx); err != nil {
		b.Fatal(err)
	}
	ep := types.NamespacedName{Namespace: "ns", Name: "okta"}
	p := listParams{sortBy: "name.familyName", descending: true, startIndex: n/2 + 1, count: 100}
	view := func(*scimv1.ScimUser, []string, map[string]any) error { return nil }
	orderedOf := func() *scimstore.Ordered[*scimv1.ScimUser] {
		ord, err := ordering(userRT, p.sortBy, userBinder, func(key string, cmp func(a, b *scimv1.ScimUser) int) (*scimstore.Ordered[*scimv1.ScimUser], error) {
			return store.OrderedUsers(ctx, ep, key, cmp)
		})
		if err != nil {
			b.Fatal(err)
		}
		return ord
	}
	b.Run("sort", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			items, err := store.ListUsers(ctx, ep, "", "")
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := selectPage(ctx, p, len(items), typedDecider(userRT, p, nil, items, userBinder, view)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// build reports what the ordering holds per user (bytes/user): the
	// heap it adds, once built.
	b.Run("build", func(b *testing.B) {
		var held uint64
		for b.Loop() {
			b.StopTimer()
			store = scimstore.New(nil, nil, informers, scimstore.Options{})
			if err := store.Follow(ctx); err != nil {
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.StartTimer()
			orderedOf()
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			held += after.HeapAlloc - before.HeapAlloc
			b.StartTimer()
		}
		b.ReportMetric(float64(held)/float64(b.N)/n, "bytes/user")
	})
	ord := orderedOf()
	b.Run("ordered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := orderedSelect(ctx, p, nil, ord, userBinder, view); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := filter.ParseWith(userRT, `userName co "1"`, schema.Lenient())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("filtered-sort", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			items, _ := store.ListUsers(ctx, ep, "", "")
			if _, _, err := selectPage(ctx, p, len(items), typedDecider(userRT, p, f, items, userBinder, view)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("filtered-ordered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := orderedSelect(ctx, p, f, ord, userBinder, view); err != nil {
				b.Fatal(err)
			}
		}
	})
}
