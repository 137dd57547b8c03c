package scimstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedNames holds the blocked sorted set against a plain sorted slice
// through random inserts, repeats and removals that split and empty blocks.
func TestSortedNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	got := newSortedNames()
	want := map[string]bool{}
	for step := range 20_000 {
		name := fmt.Sprintf("user-%05d", rng.IntN(3_000))
		if rng.IntN(3) == 0 {
			got.remove(name)
			delete(want, name)
		} else {
			got.insert(name)
			want[name] = true
		}
		if step%997 != 0 {
			continue
		}
		ref := make([]string, 0, len(want))
		for n := range want {
			ref = append(ref, n)
		}
		slices.Sort(ref)
		if got.len() != len(ref) {
			t.Fatalf("step %d: %d names, want %d", step, got.len(), len(ref))
		}
		for _, page := range [][2]int{{0, 100}, {len(ref) / 2, 100}, {max(len(ref)-3, 0), 100}, {0, len(ref) + 5}, {len(ref), 10}, {5, 0}} {
			lo := min(page[0], len(ref))
			wantPage := ref[lo:min(lo+page[1], len(ref))]
			if gotPage := got.slice(page[0], page[1]); !slices.Equal(gotPage, wantPage) && (len(gotPage) > 0 || len(wantPage) > 0) {
				t.Fatalf("step %d: slice(%d, %d) = %v..., want %v...", step, page[0], page[1], head(gotPage), head(wantPage))
			}
		}
	}
	for _, blk := range got.blocks {
		if len(blk) == 0 || len(blk) > blockSize {
			t.Fatalf("a block of %d names", len(blk))
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func TestOrderDropsEmptyEndpoints(t *testing.T) {
	o := newOrder()
	o.set("ns/idp", "user-b", true)
	o.set("ns/idp", "user-a", true)
	o.set("ns/other", "user-c", true)
	if names, total := o.page("ns/idp", 0, 10); total != 2 || !slices.Equal(names, []string{"user-a", "user-b"}) {
		t.Fatalf("page %v of %d", names, total)
	}
	o.set("ns/idp", "user-a", false)
	o.set("ns/idp", "user-b", false)
	o.set("ns/idp", "user-z", false)
	if _, ok := o.endpoints["ns/idp"]; ok {
		t.Error("an endpoint without names is still held")
	}
	if names, total := o.page("ns/other", 0, 10); total != 1 || names[0] != "user-c" {
		t.Errorf("another endpoint's names changed: %v of %d", names, total)
	}
}
