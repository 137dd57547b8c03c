package scimserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// FieldOwner is the field manager of every write the SCIM server makes.
const FieldOwner = client.FieldOwner("scim-operator-scim")

// +kubebuilder:rbac:groups=scim.scim-operator.io,resources=scimusers;scimgroups;scimmemberships;scimclaims,verbs=get;list;watch;create;update;patch;delete

// Store is the SCIM server's access to ScimUsers, ScimGroups, their membership
// shards and uniqueness claims. Reads come from the informer cache; writes go
// to the API server and then wait until the cache has seen them, so the
// writing client reads its own writes.
type Store struct {
	c    client.Client
	live client.Reader
}

// NewStore returns a Store over the manager's cached client and its uncached reader.
func NewStore(c client.Client, live client.Reader) *Store { return &Store{c: c, live: live} }

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
	if field == "" {
		field, value = IndexUserEndpoint, ep.Name
	} else {
		value = indexKey(ep.Name, value)
	}
	var list scimv1.ScimUserList
	if err := s.c.List(ctx, &list, client.InNamespace(ep.Namespace), client.MatchingFields{field: value},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*scimv1.ScimUser, 0, len(list.Items))
	for i := range list.Items {
		if u := &list.Items[i]; visible(u, ep.Name, u.Spec.Endpoint) {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
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
	if field == "" {
		field, value = IndexGroupEndpoint, ep.Name
	} else {
		value = indexKey(ep.Name, value)
	}
	var list scimv1.ScimGroupList
	if err := s.c.List(ctx, &list, client.InNamespace(ep.Namespace), client.MatchingFields{field: value},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	out := make([]*scimv1.ScimGroup, 0, len(list.Items))
	for i := range list.Items {
		if g := &list.Items[i]; visible(g, ep.Name, g.Spec.Endpoint) {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// claimName is the deterministic name of the claim on a unique value, so two
// replicas racing for the same value race on creating the same object.
func claimName(kind, endpoint, value string) string {
	h := sha256.Sum256([]byte(endpoint + "\x00" + strings.ToLower(value)))
	return strings.ToLower(kind) + "-" + hex.EncodeToString(h[:20])
}

// staleClaimAge is how old a claim whose holder does not exist must be before
// it is taken over (a crash between claiming and creating leaves one behind).
const staleClaimAge = 30 * time.Second

// claim reserves value (userName or displayName) for holder. It fails with a
// 409 uniqueness Error when another live resource holds it.
func (s *Store) claim(ctx context.Context, ep endpointRef, kind, value, holder string) error {
	name := claimName(kind, ep.Name, value)
	for attempt := 0; attempt < 3; attempt++ {
		c := &scimv1.ScimClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name,
				Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}},
			Spec: scimv1.ScimClaimSpec{Endpoint: ep.Name, Kind: kind, Holder: holder},
		}
		err := s.c.Create(ctx, c, FieldOwner)
		if err == nil || !apierrors.IsAlreadyExists(err) {
			return err
		}
		var existing scimv1.ScimClaim
		if err := s.live.Get(ctx, client.ObjectKeyFromObject(c), &existing); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if existing.Spec.Holder == holder {
			return nil
		}
		alive, err := s.holderExists(ctx, ep, kind, existing.Spec.Holder)
		if err != nil {
			return err
		}
		if alive || time.Since(existing.CreationTimestamp.Time) < staleClaimAge {
			return errorf(http.StatusConflict, scimUniqueness, "a %s with this %s already exists", kind, uniqueAttr(kind))
		}
		_ = s.c.Delete(ctx, &existing, client.Preconditions{UID: &existing.UID})
	}
	return errorf(http.StatusConflict, scimUniqueness, "a %s with this %s already exists", kind, uniqueAttr(kind))
}

func uniqueAttr(kind string) string {
	if kind == "User" {
		return "userName"
	}
	return "displayName"
}

func (s *Store) holderExists(ctx context.Context, ep endpointRef, kind, id string) (bool, error) {
	var obj client.Object = &scimv1.ScimUser{}
	if kind == "Group" {
		obj = &scimv1.ScimGroup{}
	}
	err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil && obj.GetDeletionTimestamp() == nil, err
}

// release deletes holder's claim on value, if it still holds it.
func (s *Store) release(ctx context.Context, ep endpointRef, kind, value, holder string) {
	var c scimv1.ScimClaim
	key := types.NamespacedName{Namespace: ep.Namespace, Name: claimName(kind, ep.Name, value)}
	if err := s.live.Get(ctx, key, &c); err != nil || c.Spec.Holder != holder {
		return
	}
	_ = s.c.Delete(ctx, &c, client.Preconditions{UID: &c.UID})
}

// waitForCache blocks until the informer cache holds obj at resourceVersion rv
// or newer (or, with rv "", no longer holds it or holds it marked for
// deletion: finalizers of the projections may keep a deleted user for a
// while, and the SCIM server already treats it as gone), bounded by a few seconds.
// The probe reads the cached object without copying it: a membership shard
// of a large group is a few hundred kilobytes, and it is probed every 2 ms.
func (s *Store) waitForCache(ctx context.Context, obj client.Object, rv string) {
	key := client.ObjectKeyFromObject(obj)
	want, _ := strconv.ParseUint(rv, 10, 64)
	probe := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	_ = wait.PollUntilContextTimeout(ctx, 2*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		err := s.c.Get(ctx, key, probe, client.UnsafeDisableDeepCopy)
		if rv == "" {
			return apierrors.IsNotFound(err) || (err == nil && probe.GetDeletionTimestamp() != nil), nil
		}
		if err != nil {
			return false, nil
		}
		have, _ := strconv.ParseUint(probe.GetResourceVersion(), 10, 64)
		return probe.GetResourceVersion() == rv || (want > 0 && have >= want), nil
	})
}

func stampModified(obj client.Object) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationLastModified] = now()
	obj.SetAnnotations(a)
}

// now is the time stamped into AnnotationLastModified, with millisecond
// precision: meta.lastModified shows it, and the projections measure their
// lag from it.
func now() string { return time.Now().UTC().Format(timeFormat) }

// timeFormat is RFC 3339 with milliseconds, an xsd:dateTime (RFC 7643 §2.3.5).
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func errWrap(what string, err error) error { return fmt.Errorf("%s: %w", what, err) }
