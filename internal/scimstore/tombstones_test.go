package scimstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

// tombstoneTTL is shortLived's TTL.
const tombstoneTTL = 2 * time.Second

// claims returns the endpoint's ScimClaims as the API server holds them.
func claims(t *testing.T, ns string) []scimv1.ScimClaim {
	t.Helper()
	var list scimv1.ScimClaimList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestIDsNeverReusedAfterTombstonesExpire: one userName created and deleted
// again and again, each time its tombstones have expired and been swept,
// never gets an id it had before; and once the deletions stop every
// tombstone goes: the claims do not grow with history.
func TestIDsNeverReusedAfterTombstonesExpire(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	seen := map[string]bool{}
	create := func(round int) string {
		t.Helper()
		u, err := shortLived.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if seen[u.Name] {
			t.Fatalf("round %d: id %s was given before (ids so far: %v)", round, u.Name, seen)
		}
		seen[u.Name] = true
		if err := shortLived.DeleteUser(ctx, ep, u); err != nil {
			t.Fatalf("round %d: deleting: %v", round, err)
		}
		return u.Name
	}
	for round := range 3 {
		// A derived id (the value's tombstones have gone), then another
		// id: a random one while the first is retired, or a derived one
		// if the epoch changed between the two.
		if id := create(round); !strings.HasPrefix(id, "user-") {
			t.Fatalf("round %d: the value has no tombstone left, yet got the random id %s", round, id)
		}
		create(round)
		time.Sleep(tombstoneTTL + 100*time.Millisecond)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := shortLived.SweepTombstones(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			left := claims(t, ep.Namespace)
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d claims left after every tombstone's TTL: %+v", round, len(left), left[0].Spec)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestValueHeldAcrossEpochs: a user created in an earlier id epoch still
// holds its userName against a rename and a create with a random id, which
// look for holders on the API server by the value's label, not the epoch's
// name.
func TestValueHeldAcrossEpochs(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	ada, err := shortLived.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "ada@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if ada.Labels[scimv1.LabelDerivedFrom] == "" || !strings.HasPrefix(ada.Name, "user-") {
		t.Fatalf("ada was created as %s with labels %v, want a derived id and its value's label", ada.Name, ada.Labels)
	}
	bob, err := shortLived.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "bob@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(tombstoneTTL) // two epochs on: ada's name is derived no more

	_, err = shortLived.UpdateUser(ctx, ep, bob, scimv1.ScimUserSpec{UserName: "ADA@example.com", Active: true}, false)
	if !errors.Is(err, scimstore.ErrNotUnique) {
		t.Fatalf("renaming bob to ada's userName two epochs later: %v, want 409", err)
	}
	// A deleted derived id sends the next create down the claim path (a
	// random id); ada holds the value there too.
	carol, err := shortLived.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "carol@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := shortLived.DeleteUser(ctx, ep, carol); err != nil {
		t.Fatal(err)
	}
	if _, err := shortLived.UpdateUser(ctx, ep, ada, scimv1.ScimUserSpec{UserName: "carol@example.com", Active: true}, false); err != nil {
		t.Fatalf("renaming ada to the deleted carol's userName: %v", err)
	}
	if _, err := shortLived.CreateUser(ctx, ep, scimv1.ScimUserSpec{UserName: "Carol@example.com", Active: true}); !errors.Is(err, scimstore.ErrNotUnique) {
		t.Fatalf("creating carol while the renamed ada holds the value: %v, want 409", err)
	}
}

// TestSweepDeletesOnlyExpiredUnheldDatedTombstones: of a dated tombstone
// past its TTL, one within it, one held as a claim again, and an undated one
// (an id named after the value alone, kept for ever), a sweep deletes the
// first only.
func TestSweepDeletesOnlyExpiredUnheldDatedTombstones(t *testing.T) {
	ep := namespace(t)
	ctx := context.Background()
	now := time.Now()
	tombstone := func(value, holder string, retiredAt *metav1.Time) string {
		name := scimstore.UniqueName("User", ep.Name, value)
		c := &scimv1.ScimClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Name: name,
			Labels: map[string]string{scimv1.LabelEndpoint: ep.Name}},
			Spec: scimv1.ScimClaimSpec{Endpoint: ep.Name, Kind: "User", Retired: true, Holder: holder, RetiredAt: retiredAt}}
		if holder != "" {
			c.Spec.Since = ptr.To(metav1.Now())
		}
		if err := k8s.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		return name
	}
	past := ptr.To(metav1.NewTime(now.Add(-tombstoneTTL - time.Second)))
	expired := tombstone("expired@example.com", "", past)
	kept := map[string]bool{
		tombstone("recent@example.com", "", ptr.To(metav1.NewTime(now))):            true,
		tombstone("held@example.com", "8c1e0f4a-0000-4000-8000-000000000000", past): true,
		tombstone("undated@example.com", "", nil):                                   true,
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := shortLived.SweepTombstones(ctx, now); err != nil {
			t.Fatal(err)
		}
		left := map[string]bool{}
		for _, c := range claims(t, ep.Namespace) {
			left[c.Name] = true
		}
		if !left[expired] {
			for name := range kept {
				if !left[name] {
					t.Fatalf("the sweep deleted %s, which it must keep", name)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired tombstone %s was never deleted", expired)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
