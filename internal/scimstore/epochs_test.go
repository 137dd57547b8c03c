package scimstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// Ids named by epoch meet every other way of naming them: stores with and
// without a key, stores that keep tombstones for ever, and a Store whose
// informer lags. Each test reproduces a hole a review found in the first
// version of epochs.

// TestRenameFindsHoldersCreatedBeforeTheKey: a user created under an
// unkeyed epoch name still holds its userName once the installation key is
// set: a rename of another user onto it is refused.
func TestRenameFindsHoldersCreatedBeforeTheKey(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	ada, err := store.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := keyed.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "bob@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = keyed.UpdateUser(ctx, ep, bob, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true}, false)
	if !errors.Is(err, scimstore.ErrNotUnique) {
		t.Fatalf("renaming bob (%s) onto ada's (%s) userName after the key was set: %v, want ErrNotUnique", bob.Name, ada.Name, err)
	}
}

// TestForeverFindsEpochNamedHolders: a Store that keeps tombstones for ever
// (names without epochs) still finds a holder another replica named by
// epoch.
func TestForeverFindsEpochNamedHolders(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	ada, err := store.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := forever.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "bob@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = forever.UpdateUser(ctx, ep, bob, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true}, false)
	if !errors.Is(err, scimstore.ErrNotUnique) {
		t.Fatalf("renaming bob (%s) onto ada's (%s) userName with tombstones kept for ever: %v, want ErrNotUnique", bob.Name, ada.Name, err)
	}
}

// TestValueNamedTombstonesNeverExpire: the tombstone of an id named after
// the value alone (created before epochs, or with tombstones kept for ever)
// outlives any sweep, so a replica without epochs (a rollback) never
// derives the deleted id again.
func TestValueNamedTombstonesNeverExpire(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	old, err := forever.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "cat@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteUser(ctx, ep, old); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SweepTombstones(ctx, time.Now().Add(10*scimstore.DefaultTombstoneTTL)); err != nil {
		t.Fatal(err)
	}
	if left := claims(t, ep.Namespace); len(left) != 1 || left[0].Name != old.Name || left[0].Spec.RetiredAt != nil {
		t.Fatalf("claims after a sweep far in the future: %+v, want the undated tombstone of %s", left, old.Name)
	}
	// A replica started after the deletion saw no deletion.
	restarted := scimstore.New(manager.GetClient(), manager.GetAPIReader(), manager.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, TombstoneTTL: -time.Second})
	if err := restarted.Follow(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := restarted.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "cat@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Name == old.Name {
		t.Fatalf("id %s was given to a second resource", again.Name)
	}
}

// TestLaggingInformerFindsHoldersOfEarlierEpochs: a create that cannot wait
// for its informer (here a Store that follows none) asks the API server, and
// finds a holder created in an earlier epoch, whose name is not its own.
func TestLaggingInformerFindsHoldersOfEarlierEpochs(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	ada, err := shortLived.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	lagging := scimstore.New(manager.GetClient(), manager.GetAPIReader(), manager.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, TombstoneTTL: tombstoneTTL})
	time.Sleep(tombstoneTTL/2 + 100*time.Millisecond) // the next epoch
	dup, err := lagging.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "ADA@example.com", Active: true})
	if !errors.Is(err, scimstore.ErrNotUnique) {
		t.Fatalf("creating ADA@example.com while %s holds ada@example.com, without an informer: %v (%v), want ErrNotUnique", ada.Name, err, dup)
	}
}

// TestLaggingKeyedCreateFindsUnkeyedClaimHolder: a user renamed before the
// installation key was set holds its new userName by an unkeyed claim only;
// a create of that userName by a keyed Store without an informer is refused
// too, as the claim path and the cached path refuse it (found by review).
func TestLaggingKeyedCreateFindsUnkeyedClaimHolder(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	bob, err := store.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "bob@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateUser(ctx, ep, bob, scimv1.ScimUserSpec{UserName: "carol@example.com", Active: true}, false); err != nil {
		t.Fatal(err)
	}
	lagging := scimstore.New(manager.GetClient(), manager.GetAPIReader(), manager.GetCache(), scimstore.Options{
		MaxMembersPerRequest: scimstore.DefaultMaxMembersPerRequest, IDKey: []byte("0123456789abcdef0123456789abcdef")})
	dup, err := lagging.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "carol@example.com", Active: true})
	if !errors.Is(err, scimstore.ErrNotUnique) {
		t.Fatalf("creating carol@example.com while %s holds it by an unkeyed claim, keyed and without an informer: %v (%v), want ErrNotUnique", bob.Name, err, dup)
	}
}
