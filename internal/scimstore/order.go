package scimstore

import (
	"slices"
	"sort"
	"sync"
)

// order keeps the names of one kind's live objects per endpoint, sorted, so
// that a page of an unfiltered listing (Okta's import walks every user with
// startIndex and count) costs the page, not the endpoint: at 100,000 users,
// collecting, filtering and sorting them all took ~100 ms for every page.
//
// The stream of the kind updates it before it wakes the writers waiting on
// it, so a client that wrote sees its write in the next page it asks for,
// as it sees it in a read by id.
type order struct {
	mu        sync.RWMutex
	endpoints map[string]*sortedNames // "<namespace>/<endpoint>"
}

func newOrder() *order { return &order{endpoints: map[string]*sortedNames{}} }

// set records name as live in endpoint (live) or removes it.
func (o *order) set(endpoint, name string, live bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	names := o.endpoints[endpoint]
	if names == nil {
		if !live {
			return
		}
		names = &sortedNames{}
		o.endpoints[endpoint] = names
	}
	if live {
		names.insert(name)
		return
	}
	names.remove(name)
	if names.len() == 0 {
		delete(o.endpoints, endpoint)
	}
}

// page returns the names at positions [start, start+count) of endpoint, and
// how many names it holds.
func (o *order) page(endpoint string, start, count int) ([]string, int) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	names := o.endpoints[endpoint]
	if names == nil {
		return nil, 0
	}
	return names.slice(start, count), names.len()
}

// sortedNames is a sorted set of strings in blocks of at most blockSize: an
// insert or removal moves one block's elements, and the i-th name is found
// by walking the block lengths, so both cost O(√n) for the sizes here
// rather than O(n) for one sorted slice.
type sortedNames struct {
	blocks [][]string
	n      int
}

const blockSize = 512

// find returns the block that holds name or would hold it, and the position
// in it.
func (s *sortedNames) find(name string) (int, int) {
	b := sort.Search(len(s.blocks), func(i int) bool {
		blk := s.blocks[i]
		return blk[len(blk)-1] >= name
	})
	if b == len(s.blocks) {
		b = len(s.blocks) - 1
		return b, len(s.blocks[b])
	}
	i, _ := slices.BinarySearch(s.blocks[b], name)
	return b, i
}

func (s *sortedNames) insert(name string) {
	if len(s.blocks) == 0 {
		s.blocks = [][]string{{name}}
		s.n = 1
		return
	}
	b, i := s.find(name)
	blk := s.blocks[b]
	if i < len(blk) && blk[i] == name {
		return
	}
	blk = slices.Insert(blk, i, name)
	s.n++
	if len(blk) <= blockSize {
		s.blocks[b] = blk
		return
	}
	half := len(blk) / 2
	left := slices.Clone(blk[:half])
	right := slices.Clone(blk[half:])
	s.blocks = slices.Replace(s.blocks, b, b+1, left, right)
}

func (s *sortedNames) remove(name string) {
	if len(s.blocks) == 0 {
		return
	}
	b, i := s.find(name)
	blk := s.blocks[b]
	if i >= len(blk) || blk[i] != name {
		return
	}
	blk = slices.Delete(blk, i, i+1)
	s.n--
	if len(blk) == 0 {
		s.blocks = slices.Delete(s.blocks, b, b+1)
		return
	}
	s.blocks[b] = blk
}

func (s *sortedNames) len() int { return s.n }

// slice copies the names at [start, start+count).
func (s *sortedNames) slice(start, count int) []string {
	if start < 0 || start >= s.n || count <= 0 {
		return nil
	}
	out := make([]string, 0, min(count, s.n-start))
	for _, blk := range s.blocks {
		if start >= len(blk) {
			start -= len(blk)
			continue
		}
		for _, name := range blk[start:] {
			if len(out) == count {
				return out
			}
			out = append(out, name)
		}
		start = 0
	}
	return out
}
