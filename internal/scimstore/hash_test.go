package scimstore

import (
	"hash/fnv"
	"testing"
)

// FNV1a32 is hash/fnv's FNV-1a: shard names and placements written by
// earlier versions, which used hash/fnv, stay where they are.
func TestFNV1a32IsHashFNV(t *testing.T) {
	for _, s := range []string{"", "a", "alice@example.com", "2819c223-7f76-453a-919d-413861904646", "ÿ\x00é"} {
		h := fnv.New32a()
		_, _ = h.Write([]byte(s))
		if got, want := FNV1a32(s), h.Sum32(); got != want {
			t.Errorf("FNV1a32(%q) = %#x, want hash/fnv's %#x", s, got, want)
		}
	}
}
