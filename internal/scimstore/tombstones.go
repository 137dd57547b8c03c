package scimstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// Tombstones with an end.
//
// A deleted resource's id must never name another resource (RFC 7643 §3.1),
// and a derived id is a function of the value: created again, the value
// would get the same id. So deletion leaves a tombstone (a retired
// ScimClaim) that sends the next create of the value down the claim path to
// a random id. Kept forever, tombstones grow with history, in etcd and in
// every replica's cache.
//
// Derived ids therefore also depend on the id epoch: time cut into periods
// of half the tombstone TTL. A resource created in epoch e is named after
// (value, e); from epoch e+1 on, no replica derives that name again. Its
// tombstone is needed only until then, and is deleted once the TTL has
// passed since the deletion: the deletion came after the creation, so by
// then epoch e ended at least half a TTL ago, which is the margin left for
// replicas' clocks to disagree (docs/security.md, "Ids").
//
// Claims of values are named after the value alone (valueName), as before
// epochs, so that writers in different epochs meet on one claim; and a
// resource named after its value carries LabelDerivedFrom, the value's
// name, so that heldByName finds it whatever epoch named it.

// DefaultTombstoneTTL is the default of Options.TombstoneTTL.
const DefaultTombstoneTTL = 14 * 24 * time.Hour

// minTombstoneTTL is the shortest TTL a Store uses (tests use seconds; the
// operator refuses less than an hour, main.go).
const minTombstoneTTL = 2 * time.Second

// epochOf is the id epoch of t: its number of whole half-TTLs since the Unix
// epoch.
func epochOf(t time.Time, ttl time.Duration) uint64 {
	return uint64(t.UnixNano() / int64(ttl/2))
}

// newName is the name a new resource holding value is created under at
// time t: a hash of the epoch's length and number, the endpoint and the
// value, or, when tombstones are kept forever, the value's name itself. The
// length is part of the hash: with another TTL the epoch numbers start
// again from other values, and without it a changed TTL could number an
// epoch as one long past, whose tombstones are gone. The message starts
// with '#', which no endpoint name (a DNS name, valueName's first part)
// can, so no value's name is also an epoch name.
func (s *Store) newName(kind, endpoint, value string, t time.Time) string {
	if s.tombstoneTTL <= 0 {
		return s.valueName(kind, endpoint, value)
	}
	msg := make([]byte, 0, 24+len(endpoint)+len(value))
	msg = append(msg, "#epoch\x00"...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(s.tombstoneTTL/2))
	msg = binary.BigEndian.AppendUint64(msg, epochOf(t, s.tombstoneTTL))
	msg = append(msg, endpoint+"\x00"+strings.ToLower(value)...)
	var sum []byte
	if len(s.idKey) == 0 {
		h := sha256.Sum256(msg)
		sum = h[:]
	} else {
		mac := hmac.New(sha256.New, s.idKey)
		mac.Write(msg)
		sum = mac.Sum(nil)
	}
	return strings.ToLower(kind) + "-" + hex.EncodeToString(sum[:20])
}

// NewName is newName now, for tests that check which id a create got.
func (s *Store) NewName(kind, endpoint, value string) string {
	return s.newName(kind, endpoint, value, time.Now())
}

// labelDerived marks obj, about to be created under a name derived from
// value, with the value's name.
func (s *Store) labelDerived(obj client.Object, kind, endpoint, value string) {
	labels := make(map[string]string, len(obj.GetLabels())+1)
	for k, v := range obj.GetLabels() {
		labels[k] = v
	}
	labels[scimv1.LabelDerivedFrom] = s.valueName(kind, endpoint, value)
	obj.SetLabels(labels)
}

// heldByLabel reports whether a live resource other than self holds value
// under a name derived from it in some epoch: it carries one of the value's
// names (valueNames: keyed, and unkeyed for resources created before the
// key) in LabelDerivedFrom and still holds the value. It lists from the API
// server, never the cache (see the top of unique.go), and runs whatever the
// TTL: a Store that keeps tombstones forever still meets resources other
// replicas, or this installation before, named by epoch. A label selector
// is not an index: the API server reads the namespace's resources of the
// kind for it, which only renames and the claim path pay.
func (s *Store) heldByLabel(ctx context.Context, ep endpointRef, kind, value, self string) (bool, error) {
	for _, name := range s.valueNames(kind, ep.Name, value) {
		var list client.ObjectList = &scimv1.ScimUserList{}
		if kind == "Group" {
			list = &scimv1.ScimGroupList{}
		}
		if err := s.live.List(ctx, list, client.InNamespace(ep.Namespace), client.MatchingLabels{scimv1.LabelDerivedFrom: name}); err != nil {
			return false, errWrap("listing Scim"+kind+"s", err)
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return false, err
		}
		for _, item := range items {
			obj, ok := item.(client.Object)
			// A resource renamed since holds its new value by claim, not
			// this one by name.
			if ok && obj.GetName() != self && obj.GetDeletionTimestamp() == nil &&
				slices.Contains(s.valueNames(kind, ep.Name, uniqueValue(obj)), name) {
				return true, nil
			}
		}
	}
	return false, nil
}

// SweepTombstones deletes the tombstones without a holder whose TTL has
// passed at now. Only tombstones of epoch-named ids are dated (retire): a
// tombstone without RetiredAt guards an id named after the value alone (a
// resource created before epochs, or while tombstones are kept forever),
// which a replica without epochs, or a rollback, would derive again, so it
// is kept for ever; there are no more of those than the resources created
// so. It reads the claims from the cache; each delete carries the claim's
// resourceVersion, so a tombstone taken as a claim meanwhile is left alone.
// It returns how many tombstones it deleted.
func (s *Store) SweepTombstones(ctx context.Context, now time.Time) (int, error) {
	if s.tombstoneTTL <= 0 {
		return 0, nil
	}
	var list scimv1.ScimClaimList
	if err := s.c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return 0, errWrap("listing ScimClaims", err)
	}
	deleted := 0
	for i := range list.Items {
		c := &list.Items[i] // the cache's, not to be changed
		if !c.Spec.Retired || c.Spec.Holder != "" || c.Spec.RetiredAt == nil || now.Sub(c.Spec.RetiredAt.Time) <= s.tombstoneTTL {
			continue
		}
		err := s.c.Delete(ctx, c, client.Preconditions{UID: &c.UID, ResourceVersion: &c.ResourceVersion})
		switch {
		case err == nil:
			deleted++
		case !apierrors.IsConflict(err) && !apierrors.IsNotFound(err):
			return deleted, errWrap("expiring ScimClaim tombstone", err)
		}
		if ctx.Err() != nil {
			return deleted, ctx.Err()
		}
	}
	return deleted, nil
}

// epochNamed reports whether obj, a resource about to be deleted, was
// created under an epoch name: it carries LabelDerivedFrom and is not named
// after the value itself. Only its tombstone may expire.
func epochNamed(obj client.Object) bool {
	label := obj.GetLabels()[scimv1.LabelDerivedFrom]
	return label != "" && label != obj.GetName()
}

// TombstoneSweeper runs SweepTombstones every tenth of the Store's TTL
// (between every second and hourly).
type TombstoneSweeper struct {
	Store *Store
	Log   logr.Logger
	// Swept, when set, is told how many tombstones each sweep deleted.
	Swept func(n int)
}

// NeedLeaderElection is true: where replicas elect a leader, one sweeps.
func (w *TombstoneSweeper) NeedLeaderElection() bool { return true }

// Start sweeps until ctx ends.
func (w *TombstoneSweeper) Start(ctx context.Context) error {
	if w.Store.tombstoneTTL <= 0 {
		return nil
	}
	ticker := time.NewTicker(min(max(w.Store.tombstoneTTL/10, time.Second), time.Hour))
	defer ticker.Stop()
	for {
		n, err := w.Store.SweepTombstones(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			w.Log.Error(err, "sweeping expired tombstones")
		}
		if w.Swept != nil {
			w.Swept(n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
