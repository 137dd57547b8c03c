package scimstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// FieldOwner is the field manager of every write the SCIM server makes.
const FieldOwner = client.FieldOwner("scim-operator-scim")

// Store is the SCIM server's access to ScimUsers, ScimGroups, their membership
// shards and uniqueness claims. Reads come from the informer cache; writes go
// to the API server and then wait until the cache has seen them, so the
// writing client reads its own writes.
type Store struct {
	c         client.Client
	live      client.Reader
	informers cache.Informers
	// streams follow the ScimUser, ScimGroup and ScimMembership informers,
	// by kind ("User", "Group", "Membership"), once Follow registered them
	// (nil before: creates then read claims live, and writes poll the cache).
	streams map[string]*stream
	// userFinalizers gives the finalizers of a new user (Options.UserFinalizers).
	userFinalizers func(ctx context.Context, namespace, endpoint string) ([]string, error)
	// maxMembers caps the member ids of one request (Options.MaxMembersPerRequest).
	maxMembers int
	// idKey keys derived names (Options.IDKey).
	idKey []byte
	// tombstoneTTL is how long a retired id's tombstone is kept
	// (Options.TombstoneTTL); 0 when tombstones are kept forever.
	tombstoneTTL time.Duration
	// shardMembers is when a membership shard is split (Options.ShardMembers).
	shardMembers int
	// locks queues the writers of each membership shard (shardlocks.go).
	locks shardLocks
	// legacyLayout reports whether writes keep the previous version's
	// layout (Options.LegacyLayout); nil: never.
	legacyLayout func() bool
}

// Options configure a Store.
type Options struct {
	// UserFinalizers, when set, names the finalizers a new ScimUser of an
	// endpoint is created with: those of the projections that will hold it.
	UserFinalizers func(ctx context.Context, namespace, endpoint string) ([]string, error)
	// MaxMembersPerRequest caps the member ids one write of a group may name
	// (ErrTooManyMembers above).
	MaxMembersPerRequest int
	// IDKey, when set, keys the hash new resources are named after
	// (derivedName): at least 32 random bytes, the same on every replica and
	// kept for the life of the installation. Without it ids are an unkeyed
	// hash of the endpoint and the value.
	IDKey []byte
	// TombstoneTTL is how long the tombstone of a deleted resource's id is
	// kept (tombstones.go). Derived names then also depend on the id epoch,
	// half the TTL long, so that once the TTL has passed no replica derives
	// the id again. 0: DefaultTombstoneTTL; negative: tombstones are kept
	// forever and names do not depend on time, as before epochs.
	TombstoneTTL time.Duration
	// ShardMembers is how many members a membership shard holds before it
	// is split (shards.go); 0: DefaultShardMembers. Tests set it low to grow
	// a group's tree with few members.
	ShardMembers int
	// LegacyLayout, when set, is asked before every member write whether
	// replicas of the version before the shard tree may be serving too
	// (docs/upgrading.md item 20). While it answers true, writes keep the
	// layout such a replica removes from: a group without shards gets the
	// 32 shards <group>-<fnv32a % 32>, and no shard is split. Otherwise a
	// removal that replica handles would find nothing to remove and answer
	// it done, leaving the member its access. nil: never.
	LegacyLayout func() bool
}

// New returns a Store over the manager's cached client, its uncached
// reader and its cache's informers (the client's cache), for listings.
func New(c client.Client, live client.Reader, informers cache.Informers, opts Options) *Store {
	ttl := opts.TombstoneTTL
	switch {
	case ttl == 0:
		ttl = DefaultTombstoneTTL
	case ttl < 0:
		ttl = 0
	case ttl < minTombstoneTTL:
		ttl = minTombstoneTTL
	}
	shardMembers := opts.ShardMembers
	if shardMembers <= 0 {
		shardMembers = DefaultShardMembers
	}
	return &Store{c: c, live: live, informers: informers, userFinalizers: opts.UserFinalizers,
		maxMembers: opts.MaxMembersPerRequest, idKey: opts.IDKey, tombstoneTTL: ttl, shardMembers: shardMembers,
		legacyLayout: opts.LegacyLayout}
}

// Follow registers the streams that writes wait on and createUnique checks
// new resources against.
// Call it once the cache has synced, before serving.
func (s *Store) Follow(ctx context.Context) error {
	streams := map[string]*stream{"User": newStream("user-", s.tombstoneTTL), "Group": newStream("group-", s.tombstoneTTL),
		"Membership": newStream("", 0)}
	streams["User"].names, streams["User"].endpointOf = newOrder(), func(o client.Object) string {
		return o.(*scimv1.ScimUser).Spec.Endpoint
	}
	streams["Group"].names, streams["Group"].endpointOf = newOrder(), func(o client.Object) string {
		return o.(*scimv1.ScimGroup).Spec.Endpoint
	}
	streams["User"].ordered = newOrderings(func(u *scimv1.ScimUser) string { return u.Spec.Endpoint })
	streams["Group"].ordered = newOrderings(func(g *scimv1.ScimGroup) string { return g.Spec.Endpoint })
	kinds := map[string]client.Object{"User": &scimv1.ScimUser{}, "Group": &scimv1.ScimGroup{}, "Membership": &scimv1.ScimMembership{}}
	for kind, obj := range kinds {
		if err := streams[kind].register(ctx, s.informers, obj); err != nil {
			return err
		}
	}
	// The ordered names must hold every object before the first page is
	// served: wait for the replay of what the cache held.
	if err := wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, st := range streams {
			if !st.synced() {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return fmt.Errorf("waiting for the informers' replay: %w", err)
	}
	s.streams = streams
	return nil
}

// PageUsers returns the endpoint's users at positions [start, start+count)
// in id order (start from 0), and how many it has: a page of an unfiltered,
// unsorted listing, at the cost of the page. Like ListUsers, the objects are
// shared with the cache.
func (s *Store) PageUsers(ctx context.Context, ep endpointRef, start, count int) ([]*scimv1.ScimUser, int, error) {
	return pageOf[*scimv1.ScimUser](ctx, s, "User", &scimv1.ScimUser{}, ep, start, count,
		func(ctx context.Context) ([]*scimv1.ScimUser, error) { return s.ListUsers(ctx, ep, "", "") })
}

// PageGroups is PageUsers for groups.
func (s *Store) PageGroups(ctx context.Context, ep endpointRef, start, count int) ([]*scimv1.ScimGroup, int, error) {
	return pageOf[*scimv1.ScimGroup](ctx, s, "Group", &scimv1.ScimGroup{}, ep, start, count,
		func(ctx context.Context) ([]*scimv1.ScimGroup, error) { return s.ListGroups(ctx, ep, "", "") })
}

// pageOf reads a page through the kind's ordered names, or, before Follow,
// cuts it from the whole listing.
func pageOf[T client.Object](ctx context.Context, s *Store, kind string, obj client.Object, ep endpointRef, start, count int,
	all func(context.Context) ([]T, error)) ([]T, int, error) {
	st := s.streams[kind]
	if st == nil {
		items, err := all(ctx)
		if err != nil {
			return nil, 0, err
		}
		lo := min(max(start, 0), len(items))
		return items[lo:min(lo+max(count, 0), len(items))], len(items), nil
	}
	names, total := st.names.page(ep.Namespace+"/"+ep.Name, start, count)
	indexer, err := s.indexer(ctx, obj)
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, 0, len(names))
	for _, name := range names {
		item, exists, err := indexer.GetByKey(ep.Namespace + "/" + name)
		if err != nil {
			return nil, 0, errWrap("reading the cache", err)
		}
		// Gone or being deleted since the names were read: the page is
		// one shorter, as if the deletion had come first.
		if o, ok := item.(T); exists && ok && o.GetDeletionTimestamp() == nil {
			out = append(out, o)
		}
	}
	return out, total, nil
}

// endpointRef identifies an endpoint: its namespace and name.
type endpointRef = types.NamespacedName

func visible(obj client.Object, endpoint string, specEndpoint string) bool {
	return obj.GetDeletionTimestamp() == nil && specEndpoint == endpoint
}

// GetUser returns a user of the endpoint from the cache, or a 404 Error.
// Users of other endpoints and users being deleted do not exist here. Like
// every object the Store reads from the cache, the user shares its maps and
// slices with the cache and must not be modified: a group of 100,000 members
// renders 100,000 users, and copying each is what made that slow. Writers
// change a DeepCopy (UpdateUser does).
func (s *Store) GetUser(ctx context.Context, ep endpointRef, id string) (*scimv1.ScimUser, error) {
	var u scimv1.ScimUser
	if err := s.getCachedOrLive(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, &u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("User", id)
		}
		return nil, err
	}
	if !visible(&u, ep.Name, u.Spec.Endpoint) {
		return nil, notFound("User", id)
	}
	return &u, nil
}

// LiveUser reads a user from the API server, bypassing the cache, after a conflict.
func (s *Store) LiveUser(ctx context.Context, ep endpointRef, id string) (*scimv1.ScimUser, error) {
	var u scimv1.ScimUser
	if err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, &u); err != nil {
		return nil, err
	}
	if !visible(&u, ep.Name, u.Spec.Endpoint) {
		return nil, notFound("User", id)
	}
	return &u, nil
}

// LiveGroup reads a group from the API server, bypassing the cache, after a conflict.
func (s *Store) LiveGroup(ctx context.Context, ep endpointRef, id string) (*scimv1.ScimGroup, error) {
	var g scimv1.ScimGroup
	if err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, &g); err != nil {
		return nil, err
	}
	if !visible(&g, ep.Name, g.Spec.Endpoint) {
		return nil, notFound("Group", id)
	}
	return &g, nil
}

// getCachedOrLive reads obj from the cache (without a copy) and, when the
// cache does not hold it, from the API server. A miss is rare and must be
// right: a cache reconnecting after an API server outage can lag by a minute
// (client-go's watch backoff), and a user created just before would be
// answered 404, or refused as a group member with a 400 the IdP does not
// retry. Only authenticated requests reach here, under the endpoint's rate
// limit, so misses cannot be used to load the API server at will.
func (s *Store) getCachedOrLive(ctx context.Context, key types.NamespacedName, obj client.Object) error {
	err := s.c.Get(ctx, key, obj, client.UnsafeDisableDeepCopy)
	if apierrors.IsNotFound(err) {
		err = s.live.Get(ctx, key, obj)
	}
	return err
}

// ListUsers lists the endpoint's users from the cache, sorted by id so every
// page of a listing sees the same order. With a field and value, only users
// indexed under that value. The returned objects are shared with the cache and
// must not be modified.
func (s *Store) ListUsers(ctx context.Context, ep endpointRef, field, value string) ([]*scimv1.ScimUser, error) {
	valueOf, inBucket := bucketed[field]
	indexed := value
	if inBucket {
		indexed = bucketOf(value)
	}
	users, err := listIndexed(ctx, s, &scimv1.ScimUser{}, ep, field, indexed, IndexUserEndpoint,
		func(u *scimv1.ScimUser) string { return u.Spec.Endpoint })
	if err != nil || !inBucket {
		return users, err
	}
	return slices.DeleteFunc(users, func(u *scimv1.ScimUser) bool { return valueOf(u) != value }), nil
}

// GetGroup returns a group of the endpoint from the cache, or a 404 Error.
// The group is shared with the cache and must not be modified (see GetUser).
func (s *Store) GetGroup(ctx context.Context, ep endpointRef, id string) (*scimv1.ScimGroup, error) {
	var g scimv1.ScimGroup
	if err := s.getCachedOrLive(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, &g); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("Group", id)
		}
		return nil, err
	}
	if !visible(&g, ep.Name, g.Spec.Endpoint) {
		return nil, notFound("Group", id)
	}
	return &g, nil
}

// ListGroups lists the endpoint's groups from the cache, sorted by id. The
// returned objects are shared with the cache and must not be modified.
func (s *Store) ListGroups(ctx context.Context, ep endpointRef, field, value string) ([]*scimv1.ScimGroup, error) {
	return listIndexed(ctx, s, &scimv1.ScimGroup{}, ep, field, value, IndexGroupEndpoint,
		func(g *scimv1.ScimGroup) string { return g.Spec.Endpoint })
}

// Count returns how many objects of kind (a *ScimUser or *ScimGroup) the
// endpoint holds in the cache, those being deleted included.
func (s *Store) Count(ctx context.Context, ep endpointRef, kind client.Object) (int, error) {
	index := IndexUserEndpoint
	if _, ok := kind.(*scimv1.ScimGroup); ok {
		index = IndexGroupEndpoint
	}
	items, err := s.byIndex(ctx, kind, index, ep.Namespace, ep.Name)
	return len(items), err
}

// listIndexed returns the endpoint's objects indexed under field and value
// (every object of the endpoint without a field), visible and sorted by name.
// It reads the informer's indexer itself: the cached client's List copies
// every object into a list (a page of 100 users out of 100,000 would copy
// 60 MB, and the garbage slows every other request down).
func listIndexed[T client.Object](ctx context.Context, s *Store, kind T, ep endpointRef, field, value, all string,
	endpointOf func(T) string) ([]T, error) {
	if field == "" {
		field, value = all, ep.Name
	} else {
		value = indexKey(ep.Name, value)
	}
	items, err := s.byIndex(ctx, kind, field, ep.Namespace, value)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for i, item := range items {
		if i%checkEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if o, ok := item.(T); ok && visible(o, ep.Name, endpointOf(o)) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

// byIndex returns the cached objects of kind in namespace ("": in every
// namespace) whose field index (registered with client.FieldIndexer, see
// RegisterIndexes) holds value, without copying them.
func (s *Store) byIndex(ctx context.Context, kind client.Object, field, namespace, value string) ([]any, error) {
	return byIndex(ctx, s.informers, kind, field, namespace, value)
}

// CountIndexed returns how many cached objects of kind in namespace the
// field index (RegisterIndexes) holds under value, without copying them: a
// cached List of an endpoint's 100,000 users copies each into the list.
func CountIndexed(ctx context.Context, informers cache.Informers, kind client.Object, field, namespace, value string) (int, error) {
	items, err := byIndex(ctx, informers, kind, field, namespace, value)
	return len(items), err
}

// CachedByIndex returns the cached objects of kind T in namespace whose
// field index holds value, without copying them (the cached client's List
// copies each object into the list). They are the cache's own and must not
// be modified.
func CachedByIndex[T client.Object](ctx context.Context, informers cache.Informers, kind T, field, namespace, value string) ([]T, error) {
	items, err := byIndex(ctx, informers, kind, field, namespace, value)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, item := range items {
		if o, ok := item.(T); ok {
			out = append(out, o)
		}
	}
	return out, nil
}

func byIndex(ctx context.Context, informers cache.Informers, kind client.Object, field, namespace, value string) ([]any, error) {
	indexer, err := informerIndexer(ctx, informers, kind)
	if err != nil {
		return nil, err
	}
	// The key format of controller-runtime's field indexes
	// (cache/internal.FieldIndexName and KeyToNamespacedKey); indexes
	// registered everywhere (indexNamespaced) answer "".
	if namespace == "" {
		namespace = allNamespaces
	}
	return indexer.ByIndex("field:"+field, namespace+"/"+value)
}

// indexer is the store of the kind's informer, read without copies.
func (s *Store) indexer(ctx context.Context, kind client.Object) (toolscache.Indexer, error) {
	return informerIndexer(ctx, s.informers, kind)
}

func informerIndexer(ctx context.Context, informers cache.Informers, kind client.Object) (toolscache.Indexer, error) {
	inf, err := informers.GetInformer(ctx, kind)
	if err != nil {
		return nil, errWrap("reading the cache", err)
	}
	ix, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("the cache's informer %T has no indexer", inf)
	}
	return ix.GetIndexer(), nil
}

// cacheWait bounds how long a write waits for the cache to show it. The
// write has succeeded either way; a cache that lags longer is catching up
// after an API server outage, and the client is better answered than held.
const cacheWait = 5 * time.Second

// waitForCache blocks until the informer cache holds obj at resourceVersion rv
// or newer (or, with rv "", no longer holds it or holds it marked for
// deletion: finalizers of the projections may keep a deleted user for a
// while, and the SCIM server already treats it as gone), bounded by cacheWait.
//
// It waits on the kind's stream, which the informer's handlers advance, and
// reads the cache only when the stream has moved: polling the cache every
// 2 ms from 64 concurrent member PATCHes was 38% of the operator's CPU in
// the initial-sync benchmark. The cache is still read once at the end, as
// the proof: after a relist the informer delivers objects in name order, not
// resourceVersion order, so the stream may run ahead of one object. Each read
// is of the cached object itself, without a copy: a membership shard of a
// large group is a few hundred kilobytes.
func (s *Store) waitForCache(ctx context.Context, obj client.Object, rv string) {
	st := s.streamOf(obj)
	if st == nil {
		s.pollCache(ctx, obj, rv)
		return
	}
	deadline := time.Now().Add(cacheWait)
	want, _ := strconv.ParseUint(rv, 10, 64)
	if rv != "" && !st.await(ctx, want, cacheWait) {
		return
	}
	key := client.ObjectKeyFromObject(obj)
	probe := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	for !s.cacheHolds(ctx, key, probe, rv, want) {
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			return
		}
		// Wait for the informer to deliver anything newer of the kind (a
		// deletion's resourceVersion is not known in advance); 50 ms is the
		// backstop for a stream that ran ahead.
		st.await(ctx, st.seen.Load()+1, min(left, 50*time.Millisecond))
	}
}

// pollCache is waitForCache for a Store that follows no streams (before
// Follow, and in tests of the Store alone): it reads the cache every 2 ms.
func (s *Store) pollCache(ctx context.Context, obj client.Object, rv string) {
	key := client.ObjectKeyFromObject(obj)
	want, _ := strconv.ParseUint(rv, 10, 64)
	probe := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	_ = wait.PollUntilContextTimeout(ctx, 2*time.Millisecond, cacheWait, true, func(ctx context.Context) (bool, error) {
		return s.cacheHolds(ctx, key, probe, rv, want), nil
	})
}

// cacheHolds reports whether the cache holds key at resourceVersion rv (want,
// parsed) or newer, or with rv "", whether it no longer holds it or holds it
// marked for deletion.
func (s *Store) cacheHolds(ctx context.Context, key client.ObjectKey, probe client.Object, rv string, want uint64) bool {
	err := s.c.Get(ctx, key, probe, client.UnsafeDisableDeepCopy)
	if rv == "" {
		return apierrors.IsNotFound(err) || (err == nil && probe.GetDeletionTimestamp() != nil)
	}
	if err != nil {
		return false
	}
	have, _ := strconv.ParseUint(probe.GetResourceVersion(), 10, 64)
	return probe.GetResourceVersion() == rv || (want > 0 && have >= want)
}

// streamOf returns the stream following obj's kind, or nil.
func (s *Store) streamOf(obj client.Object) *stream {
	switch obj.(type) {
	case *scimv1.ScimUser:
		return s.streams["User"]
	case *scimv1.ScimGroup:
		return s.streams["Group"]
	case *scimv1.ScimMembership:
		return s.streams["Membership"]
	}
	return nil
}

func stampModified(obj client.Object) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[scimv1.AnnotationLastModified] = scimv1.Stamp()
	obj.SetAnnotations(a)
}

func errWrap(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
