package scimstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Uniqueness of userName and group displayName per endpoint, across every
// replica of the SCIM server.
//
// A resource is created under a name derived from its unique value and the
// id epoch (newName, tombstones.go), so the API server's own name uniqueness
// decides a race between two creates of one value in one epoch, in the
// single write that creates the resource; creates in different epochs meet
// in the check below. A ScimClaim named after the value alone (valueName)
// reserves the value where the holder's name cannot: for a resource renamed
// to the value, and for one created with a random id because the derived one
// was taken. A ScimClaim named after a deleted resource's derived id is its
// tombstone: the id must never name another resource (RFC 7643 §3.1: an id
// is not reassigned), until no replica can derive it again.
//
// Every writer of a value writes its resource first and then looks for the
// others, so that of two racing writers the second sees the first:
//   - a create under the derived name waits until its replica's informer has
//     delivered it, and with it every earlier write of the kind (ScimUsers
//     reach an informer in the API server's order), then asks its cache:
//     another live holder of the value means 409, a deleted resource of this
//     name or a claim of it means the id is retired (checkDerived). This costs
//     no API call beyond the create, which is what keeps SCIM creates near the
//     API server's raw create rate;
//   - a create with a random id (after taking the claim, which orders it
//     against other such creates and renames) and a rename (after its
//     update) ask the API server, never the cache, for a resource holding
//     the value by name (its legacy names, and LabelDerivedFrom for the
//     names of every epoch), and back off when there is one (heldByName,
//     afterRename).
// Both writers may back off; both never succeed.

// UniqueName is the unkeyed name for a kind's unique value (userName or
// displayName) within an endpoint: a SHA-256 of the endpoint and the
// lower-cased value. A Store without Options.IDKey names resources and
// claims so; one with a key names them after a keyed hash (valueName) and
// still honours what holds a value under this name.
func UniqueName(kind, endpoint, value string) string {
	h := sha256.Sum256([]byte(endpoint + "\x00" + strings.ToLower(value)))
	return strings.ToLower(kind) + "-" + hex.EncodeToString(h[:20])
}

// valueName is the deterministic name for a kind's unique value within an
// endpoint: a claim on the value has that name, and so had the resources
// created with that value before ids depended on the epoch (newName in
// tombstones.go). With Options.IDKey it is an HMAC-SHA256 under the
// installation's key, so an id reveals nothing about the person: without the
// key nobody can test a guessed userName against it.
func (s *Store) valueName(kind, endpoint, value string) string {
	if len(s.idKey) == 0 {
		return UniqueName(kind, endpoint, value)
	}
	mac := hmac.New(sha256.New, s.idKey)
	mac.Write([]byte(endpoint + "\x00" + strings.ToLower(value)))
	return strings.ToLower(kind) + "-" + hex.EncodeToString(mac.Sum(nil)[:20])
}

// valueNames are the names a resource holding value may have been created
// under before epochs: the value's name, and with a key also the unkeyed one
// of resources created before the key was set, which keep their ids.
func (s *Store) valueNames(kind, endpoint, value string) []string {
	names := []string{s.valueName(kind, endpoint, value)}
	if len(s.idKey) > 0 {
		names = append(names, UniqueName(kind, endpoint, value))
	}
	return names
}

// derivedFrom reports whether id is a name derived from value.
func (s *Store) derivedFrom(kind, endpoint, value, id string) bool {
	return slices.Contains(s.valueNames(kind, endpoint, value), id)
}

// undoCreate deletes obj, which this request created and must not keep,
// even when the request is cancelled meanwhile. An object created with
// finalizers (Options.UserFinalizers) stays Terminating until its
// projections let it go: one may have projected it in the meantime.
func (s *Store) undoCreate(ctx context.Context, kind string, obj client.Object) error {
	err := s.c.Delete(context.WithoutCancel(ctx), obj, client.Preconditions{UID: ptr.To(obj.GetUID())})
	if client.IgnoreNotFound(err) != nil {
		return errWrap("deleting the Scim"+kind+" this request created", err)
	}
	return nil
}

// uniqueValue is the value a ScimUser or ScimGroup holds.
func uniqueValue(obj client.Object) string {
	switch o := obj.(type) {
	case *scimv1.ScimUser:
		return o.Spec.UserName
	case *scimv1.ScimGroup:
		return o.Spec.DisplayName
	}
	return ""
}

func newOfKind(kind string) client.Object {
	if kind == "Group" {
		return &scimv1.ScimGroup{}
	}
	return &scimv1.ScimUser{}
}

// createUnique creates the resource build returns for a name, holding value.
// It first tries the name derived from value: one write when the value was
// never held before. When that name is taken or retired, it claims the value
// for a random id and creates the resource under that id. It fails with a 409
// uniqueness Error when a live resource holds the value.
func (s *Store) createUnique(ctx context.Context, ep endpointRef, kind, value string, build func(name string) client.Object) (client.Object, error) {
	obj := build(s.newName(kind, ep.Name, value, time.Now()))
	s.labelDerived(obj, kind, ep.Name, value)
	err := s.c.Create(ctx, obj, FieldOwner)
	switch {
	case err == nil:
		v, err := s.checkDerived(ctx, ep, kind, value, obj)
		if err == nil && v == derivedFree {
			return obj, nil
		}
		// Another resource holds the value, the derived id is retired
		// or claimed, or the check failed: this object must go. Only a
		// retired or claimed id leads on to the claim path.
		if derr := s.undoCreate(ctx, kind, obj); derr != nil {
			return nil, derr
		}
		if err != nil {
			return nil, err
		}
		if v == derivedHeld {
			return nil, conflict(kind)
		}
	case apierrors.IsAlreadyExists(err):
		held, err := s.heldByName(ctx, ep, kind, value, "")
		if err != nil {
			return nil, err
		}
		if held {
			return nil, conflict(kind)
		}
	default:
		return nil, errWrap("creating Scim"+kind, err)
	}
	id := uuid.NewString()
	if err := s.claim(ctx, ep, kind, value, id); err != nil {
		return nil, err
	}
	obj = build(id)
	if err := s.c.Create(ctx, obj, FieldOwner); err != nil {
		s.release(context.WithoutCancel(ctx), ep, kind, value, id)
		return nil, errWrap("creating Scim"+kind, err)
	}
	// A create under the derived name checks its cache, which may not
	// have this object yet: look at that name again, now that this one
	// exists (see the top of this file).
	held, err := s.heldByName(ctx, ep, kind, value, id)
	if err == nil && !held {
		return obj, nil
	}
	if derr := s.undoCreate(ctx, kind, obj); derr != nil {
		return nil, derr
	}
	s.release(context.WithoutCancel(ctx), ep, kind, value, id)
	if err != nil {
		return nil, err
	}
	return nil, conflict(kind)
}

// derivedVerdict is what checkDerived found for a resource just created
// under the name derived from its value.
type derivedVerdict int

const (
	derivedFree    derivedVerdict = iota // it may stay
	derivedHeld                          // another live resource holds the value: 409
	derivedRetired                       // the id was used before, or a claim names it: the claim path decides
)

// checkDerived checks obj, just created under the name derived from value,
// against every earlier write: it waits until the replica's informer has
// delivered obj (and so every write of the kind before it), then consults
// the cache. Of two racing writers of one value, the one that wrote second
// sees the first here, or the first sees the second in its own check (the
// claim path and renames read the derived name from the API server after
// writing). Without a stream (or when the informer lags by streamPatience) it reads
// the claim from the API server instead.
func (s *Store) checkDerived(ctx context.Context, ep endpointRef, kind, value string, obj client.Object) (derivedVerdict, error) {
	st := s.streams[kind]
	if st == nil || !st.reached(ctx, obj.GetResourceVersion()) {
		return s.checkDerivedLive(ctx, ep, kind, value, obj)
	}
	if st.isRetired(ep.Namespace, obj.GetName()) {
		return derivedRetired, nil
	}
	err := s.c.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: obj.GetName()}, &scimv1.ScimClaim{}, client.UnsafeDisableDeepCopy)
	switch {
	case err == nil:
		return derivedRetired, nil
	case !apierrors.IsNotFound(err):
		return derivedFree, errWrap("reading ScimClaim", err)
	}
	var held bool
	if kind == "Group" {
		groups, err := s.ListGroups(ctx, ep, IndexGroupDisplayName, strings.ToLower(value))
		if err != nil {
			return derivedFree, err
		}
		held = anyOther(groups, obj.GetName())
	} else {
		users, err := s.ListUsers(ctx, ep, IndexUserName, strings.ToLower(value))
		if err != nil {
			return derivedFree, err
		}
		held = anyOther(users, obj.GetName())
	}
	if held {
		return derivedHeld, nil
	}
	return derivedFree, nil
}

// checkDerivedLive is checkDerived without the cache, when the informer lags
// or the Store follows none: it asks the API server for a tombstone of obj's
// name, a claim of the value (the claim path decides who holds it), and a
// resource holding the value by name in any epoch. Before epochs the first
// two were one object, and a holder by name had obj's very name.
func (s *Store) checkDerivedLive(ctx context.Context, ep endpointRef, kind, value string, obj client.Object) (derivedVerdict, error) {
	names := []string{obj.GetName()}
	if claim := s.valueName(kind, ep.Name, value); claim != obj.GetName() {
		names = append(names, claim)
	}
	for _, name := range names {
		err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: name}, &scimv1.ScimClaim{})
		switch {
		case err == nil:
			return derivedRetired, nil
		case !apierrors.IsNotFound(err):
			return derivedFree, errWrap("reading ScimClaim", err)
		}
	}
	held, err := s.heldByName(ctx, ep, kind, value, obj.GetName())
	if err == nil && !held {
		// A claim written before the key: a resource renamed to the
		// value holds it by that claim alone.
		held, err = s.heldByUnkeyedClaim(ctx, ep, kind, value, obj.GetName())
	}
	if err != nil {
		return derivedFree, err
	}
	if held {
		return derivedHeld, nil
	}
	return derivedFree, nil
}

// anyOther reports whether objs holds an object not named self.
func anyOther[T client.Object](objs []T, self string) bool {
	for _, o := range objs {
		if o.GetName() != self {
			return true
		}
	}
	return false
}

// heldByName reports whether a live resource named after value, other than
// self, exists and holds value: under the derived name, or, with a key, under
// the unkeyed name of a resource created before the key. The claim path asks
// it after claiming: a create under the derived name may have read no claim
// just before.
func (s *Store) heldByName(ctx context.Context, ep endpointRef, kind, value, self string) (bool, error) {
	for _, name := range s.valueNames(kind, ep.Name, value) {
		if name == self {
			continue
		}
		obj := newOfKind(kind)
		err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: name}, obj)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, errWrap("reading Scim"+kind, err)
		}
		if obj.GetDeletionTimestamp() == nil && s.derivedFrom(kind, ep.Name, uniqueValue(obj), name) {
			return true, nil
		}
	}
	return s.heldByLabel(ctx, ep, kind, value, self)
}

// updateUnique writes obj, the update of a resource that held oldValue and
// now holds value. A changed value is claimed first and the old claim
// released afterwards: a resource named after its value holds it by name,
// but once renamed holds any other value by claim, even the one it is named
// after (a create with a random id may hold that by then); see afterRename
// for the check after the write. Claims are keyed by strings.ToLower, which
// folds fewer letters than strings.EqualFold (ſ and s are equal under
// EqualFold only), so the derived names, not EqualFold, decide whether the
// value changed. reverted returns obj holding oldValue again, to undo a
// refused rename.
func (s *Store) updateUnique(ctx context.Context, ep endpointRef, kind, oldValue, value string, obj client.Object, reverted func() client.Object) error {
	renamed := s.valueName(kind, ep.Name, oldValue) != s.valueName(kind, ep.Name, value)
	if renamed {
		if err := s.claim(ctx, ep, kind, value, obj.GetName()); err != nil {
			return err
		}
	}
	if err := s.c.Update(ctx, obj, FieldOwner); err != nil {
		if renamed {
			s.release(context.WithoutCancel(ctx), ep, kind, value, obj.GetName())
		}
		return errWrap("updating Scim"+kind, err)
	}
	if !renamed {
		return nil
	}
	if err := s.afterRename(ctx, ep, kind, value, obj, func() client.Object {
		back := reverted()
		stampModified(back)
		return back
	}); err != nil {
		return err
	}
	s.release(ctx, ep, kind, oldValue, obj.GetName())
	return nil
}

// afterRename looks at the name derived from value once obj's rename to value
// is written: a create under that name checks its own cache, which may not
// hold the rename yet, so the rename must see that create. When the resource
// of that name holds value, the rename is undone (merge patch of reverted,
// whatever else changed since) and refused.
func (s *Store) afterRename(ctx context.Context, ep endpointRef, kind, value string, obj client.Object, reverted func() client.Object) error {
	held, err := s.heldByName(ctx, ep, kind, value, obj.GetName())
	if err == nil && !held {
		return nil
	}
	if perr := s.c.Patch(context.WithoutCancel(ctx), reverted(), client.MergeFrom(obj), FieldOwner); perr != nil {
		return errWrap("undoing the rename of Scim"+kind, perr)
	}
	s.release(context.WithoutCancel(ctx), ep, kind, value, obj.GetName())
	if err != nil {
		return err
	}
	return conflict(kind)
}

// staleClaimAge is how long after a claim was taken its holder must exist:
// a crash between claiming and creating leaves a claim whose holder never
// appears, and it is taken over after this.
const staleClaimAge = 30 * time.Second

// claim reserves value for holder (a resource that is not named after the
// value) and then makes sure no resource named after the value holds it. It
// fails with a 409 uniqueness Error when another live resource holds it.
func (s *Store) claim(ctx context.Context, ep endpointRef, kind, value, holder string) error {
	if err := s.takeClaim(ctx, ep, kind, value, holder); err != nil {
		return err
	}
	held, err := s.heldByName(ctx, ep, kind, value, holder)
	if err == nil && !held {
		held, err = s.heldByUnkeyedClaim(ctx, ep, kind, value, holder)
	}
	if err == nil && held {
		err = conflict(kind)
	}
	if err != nil {
		s.release(context.WithoutCancel(ctx), ep, kind, value, holder)
	}
	return err
}

// heldByUnkeyedClaim reports, for a Store with a key, whether a claim written
// before the key (under the unkeyed name) still holds value for a live
// resource other than holder: a resource renamed to the value then holds it
// by that claim alone.
func (s *Store) heldByUnkeyedClaim(ctx context.Context, ep endpointRef, kind, value, holder string) (bool, error) {
	if len(s.idKey) == 0 {
		return false, nil
	}
	var c scimv1.ScimClaim
	err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: UniqueName(kind, ep.Name, value)}, &c)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, errWrap("reading ScimClaim", err)
	}
	if c.Spec.Holder == "" || c.Spec.Holder == holder {
		return false, nil
	}
	return s.holderExists(ctx, ep, kind, c.Spec.Holder)
}

func (s *Store) takeClaim(ctx context.Context, ep endpointRef, kind, value, holder string) error {
	name := s.valueName(kind, ep.Name, value)
	for attempt := 0; attempt < 3; attempt++ {
		since := metav1.Now()
		c := &scimv1.ScimClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name,
				Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}},
			Spec: scimv1.ScimClaimSpec{Endpoint: ep.Name, Kind: kind, Holder: holder, Since: &since},
		}
		err := s.c.Create(ctx, c, FieldOwner)
		if err == nil || !apierrors.IsAlreadyExists(err) {
			return errWrapNil("creating ScimClaim", err)
		}
		var existing scimv1.ScimClaim
		if err := s.live.Get(ctx, client.ObjectKeyFromObject(c), &existing); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return errWrap("reading ScimClaim", err)
		}
		if existing.Spec.Holder == holder {
			return nil
		}
		if existing.Spec.Holder != "" {
			alive, err := s.holderExists(ctx, ep, kind, existing.Spec.Holder)
			if err != nil {
				return err
			}
			if alive || existing.Spec.Since == nil || time.Since(existing.Spec.Since.Time) < staleClaimAge {
				return conflict(kind)
			}
		}
		// Free: a tombstone, or a claim whose holder never appeared.
		existing.Spec.Holder, existing.Spec.Since = holder, &since
		err = s.c.Update(ctx, &existing, FieldOwner)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return errWrap("updating ScimClaim", err)
		}
	}
	return conflict(kind)
}

func conflict(kind string) error {
	attr := "userName"
	if kind == "Group" {
		attr = "displayName"
	}
	return refuse(ErrNotUnique, "a %s with this %s already exists", kind, attr)
}

func (s *Store) holderExists(ctx context.Context, ep endpointRef, kind, id string) (bool, error) {
	obj := newOfKind(kind)
	err := s.live.Get(ctx, types.NamespacedName{Namespace: ep.Namespace, Name: id}, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, errWrap("reading Scim"+kind, err)
	}
	return obj.GetDeletionTimestamp() == nil, nil
}

// release gives up holder's claim on value, if it still holds it: a
// tombstone stays, with no holder; any other claim is deleted.
func (s *Store) release(ctx context.Context, ep endpointRef, kind, value, holder string) {
	var c scimv1.ScimClaim
	key := types.NamespacedName{Namespace: ep.Namespace, Name: s.valueName(kind, ep.Name, value)}
	if err := s.live.Get(ctx, key, &c); err != nil || c.Spec.Holder != holder {
		return
	}
	if c.Spec.Retired {
		c.Spec.Holder, c.Spec.Since = "", nil
		_ = s.c.Update(ctx, &c, FieldOwner)
		return
	}
	_ = s.c.Delete(ctx, &c, client.Preconditions{UID: &c.UID, ResourceVersion: &c.ResourceVersion})
}

// retire marks the derived id of a resource about to be deleted as used, so
// that no later resource is created under it. Resources with random ids need
// no tombstone. It runs before the delete: a failure leaves the resource.
func (s *Store) retire(ctx context.Context, ep endpointRef, kind string, obj client.Object) error {
	if !strings.HasPrefix(obj.GetName(), strings.ToLower(kind)+"-") {
		return nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		c := &scimv1.ScimClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: obj.GetName(),
				Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}},
			Spec: scimv1.ScimClaimSpec{Endpoint: ep.Name, Kind: kind, Retired: true, RetiredAt: retiredAt(obj)},
		}
		err := s.c.Create(ctx, c, FieldOwner)
		if err == nil || !apierrors.IsAlreadyExists(err) {
			return errWrapNil("creating ScimClaim tombstone", err)
		}
		if err := s.live.Get(ctx, client.ObjectKeyFromObject(c), c); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return errWrap("reading ScimClaim", err)
		}
		if c.Spec.Retired {
			return nil
		}
		c.Spec.Retired, c.Spec.RetiredAt = true, retiredAt(obj)
		if err := s.c.Update(ctx, c, FieldOwner); err == nil || !apierrors.IsConflict(err) || attempt == 2 {
			return errWrapNil("updating ScimClaim tombstone", err)
		}
	}
	return refuse(ErrConcurrent, "the resource was modified concurrently; retry")
}

// retiredAt dates the tombstone of obj's id now, if the tombstone may
// expire (epochNamed); nil keeps it for ever.
func retiredAt(obj client.Object) *metav1.Time {
	if !epochNamed(obj) {
		return nil
	}
	return ptr.To(metav1.Now())
}

func errWrapNil(what string, err error) error {
	if err == nil {
		return nil
	}
	return errWrap(what, err)
}
