package scimstore

import (
	"slices"
	"sort"
)

// blockList is a sorted list in blocks of at most blockSize elements: an
// insert or removal moves one block's elements, and the i-th element is
// found by walking the block lengths, so both cost O(√n) for the sizes here
// rather than O(n) for one sorted slice. Elements that cmp finds equal are
// one element: inserting one replaces the other.
type blockList[E any] struct {
	cmp    func(a, b E) int
	blocks [][]E
	n      int
}

const blockSize = 512

// find returns the block that holds e's place and the position in it.
func (l *blockList[E]) find(e E) (int, int) {
	b := sort.Search(len(l.blocks), func(i int) bool {
		blk := l.blocks[i]
		return l.cmp(blk[len(blk)-1], e) >= 0
	})
	if b == len(l.blocks) {
		b = len(l.blocks) - 1
		return b, len(l.blocks[b])
	}
	i, _ := slices.BinarySearchFunc(l.blocks[b], e, l.cmp)
	return b, i
}

// insert puts e at its place, replacing an equal element there.
func (l *blockList[E]) insert(e E) {
	if len(l.blocks) == 0 {
		l.blocks = [][]E{{e}}
		l.n = 1
		return
	}
	b, i := l.find(e)
	blk := l.blocks[b]
	if i < len(blk) && l.cmp(blk[i], e) == 0 {
		blk[i] = e
		return
	}
	blk = slices.Insert(blk, i, e)
	l.n++
	if len(blk) <= blockSize {
		l.blocks[b] = blk
		return
	}
	half := len(blk) / 2
	left := slices.Clone(blk[:half])
	right := slices.Clone(blk[half:])
	l.blocks = slices.Replace(l.blocks, b, b+1, left, right)
}

// remove removes the element equal to e, if there is one.
func (l *blockList[E]) remove(e E) {
	if len(l.blocks) == 0 {
		return
	}
	b, i := l.find(e)
	blk := l.blocks[b]
	if i >= len(blk) || l.cmp(blk[i], e) != 0 {
		return
	}
	blk = slices.Delete(blk, i, i+1) // clears the freed slot: lets go of the element
	l.n--
	if len(blk) == 0 {
		l.blocks = slices.Delete(l.blocks, b, b+1)
		return
	}
	l.blocks[b] = blk
}

// fill replaces the list with sorted, which must be sorted by cmp without
// equal elements; it keeps the slice's elements, not the slice.
func (l *blockList[E]) fill(sorted []E) {
	l.blocks, l.n = nil, len(sorted)
	for len(sorted) > 0 {
		k := min(len(sorted), blockSize/2)
		l.blocks = append(l.blocks, slices.Clip(sorted[:k]))
		sorted = sorted[k:]
	}
}

// at returns the element at position i.
func (l *blockList[E]) at(i int) E {
	for _, blk := range l.blocks {
		if i < len(blk) {
			return blk[i]
		}
		i -= len(blk)
	}
	panic("blockList: position out of range")
}

// appendRange appends the elements at positions [start, end) to out.
func (l *blockList[E]) appendRange(out []E, start, end int) []E {
	for _, blk := range l.blocks {
		if start >= end {
			break
		}
		if start >= len(blk) {
			start -= len(blk)
			end -= len(blk)
			continue
		}
		k := min(end, len(blk))
		out = append(out, blk[start:k]...)
		start, end = 0, end-len(blk)
	}
	return out
}
