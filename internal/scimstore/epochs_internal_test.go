package scimstore

import (
	"testing"
	"time"
)

// TestTTLChangeNeverDerivesOldIDs: with the TTL raised by an hour, no id
// derived now was derived in the last 400 days under the old TTL (without
// the epoch's length in the hash, 337h numbered today's epoch as one of
// about two months ago, whose tombstones were gone).
func TestTTLChangeNeverDerivesOldIDs(t *testing.T) {
	before := New(nil, nil, nil, Options{TombstoneTTL: 336 * time.Hour})
	after := New(nil, nil, nil, Options{TombstoneTTL: 337 * time.Hour})
	now := time.Now()
	id := after.newName("User", "idp", "ada@example.com", now)
	for d := time.Duration(0); d < 400*24*time.Hour; d += time.Hour {
		if before.newName("User", "idp", "ada@example.com", now.Add(-d)) == id {
			t.Fatalf("the id derived now with TTL 337h (%s) was derived %v ago with TTL 336h", id, d)
		}
	}
}

// TestTinyTTL: a TTL below the floor is raised to it, not divided by zero.
func TestTinyTTL(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("newName with a TTL of 1ns panicked: %v", r)
		}
	}()
	New(nil, nil, nil, Options{TombstoneTTL: 1}).NewName("User", "idp", "ada")
}
