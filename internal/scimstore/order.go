package scimstore

import (
	"strings"
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
		names = newSortedNames()
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

// sortedNames is a sorted set of strings (see blockList).
type sortedNames struct{ blockList[string] }

func newSortedNames() *sortedNames {
	return &sortedNames{blockList[string]{cmp: strings.Compare}}
}

func (s *sortedNames) len() int { return s.n }

// slice copies the names at [start, start+count).
func (s *sortedNames) slice(start, count int) []string {
	if start < 0 || start >= s.n || count <= 0 {
		return nil
	}
	end := min(start+count, s.n)
	return s.appendRange(make([]string, 0, end-start), start, end)
}
