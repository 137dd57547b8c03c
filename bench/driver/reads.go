package driver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// readKind is one of the five reads of scenario 3.
type readKind struct {
	key, name, series string
	// every: sent on every every-th query only (1: always).
	every int
	// request returns the path for the i-th seeded user and checks the answer.
	request func(i int) (string, func(Reply) error)
}

// listPage is the part of a ListResponse the checks read.
type listPage struct {
	TotalResults, StartIndex int
	Resources                []struct{ ID, UserName string }
}

func readKinds(env *bigEnv, n, pageEvery int, rng *rand.Rand) []readKind {
	one := func(i int) func(Reply) error {
		return func(r Reply) error {
			var l listPage
			if err := r.decode(&l); err != nil {
				return err
			}
			if l.TotalResults != 1 || len(l.Resources) != 1 || l.Resources[0].ID != env.ids[i] {
				return fmt.Errorf("want only user %s: %.200s", env.ids[i], r.Body)
			}
			return nil
		}
	}
	start := n/2 + 1
	return []readKind{
		{"get", "GET /Users/{id}", "get by id", 1, func(i int) (string, func(Reply) error) {
			return "/Users/" + env.ids[i], func(r Reply) error {
				var u struct{ ID string }
				if err := r.decode(&u); err != nil || u.ID != env.ids[i] {
					return fmt.Errorf("want user %s (%v): %.200s", env.ids[i], err, r.Body)
				}
				return nil
			}
		}},
		{"username", "filter userName eq", "userName eq", 1, func(i int) (string, func(Reply) error) {
			f := fmt.Sprintf("userName eq %q", randomCase(rng, seedUserName(i)))
			return "/Users?filter=" + url.QueryEscape(f), one(i)
		}},
		{"externalid", "filter externalId eq", "externalId eq", 1, func(i int) (string, func(Reply) error) {
			f := fmt.Sprintf("externalId eq %q", seedExternalID(i))
			return "/Users?filter=" + url.QueryEscape(f), one(i)
		}},
		{"page", fmt.Sprintf("page of 100 at startIndex %s", thousands(start)), "page of 100 (middle)", pageEvery, func(int) (string, func(Reply) error) {
			return fmt.Sprintf("/Users?startIndex=%d&count=100", start), checkPage(n, start)
		}},
		{"sorted", fmt.Sprintf("sortBy name.familyName descending, page of 100 at startIndex %s", thousands(start)), "sorted page of 100", pageEvery,
			func(int) (string, func(Reply) error) { return sortedPath(start), checkPage(n, start) }},
	}
}

// sortedPath is a page of 100 users sorted by a non-unique attribute no
// index orders: every user is read to place the page.
func sortedPath(start int) string {
	return fmt.Sprintf("/Users?sortBy=name.familyName&sortOrder=descending&startIndex=%d&count=100", start)
}

// checkPage checks a page of 100 at start of n users.
func checkPage(n, start int) func(Reply) error {
	return func(r Reply) error {
		var l listPage
		if err := r.decode(&l); err != nil {
			return err
		}
		if l.TotalResults != n || l.StartIndex != start || len(l.Resources) != min(100, n-start+1) {
			return fmt.Errorf("page: totalResults %d, startIndex %d, %d resources", l.TotalResults, l.StartIndex, len(l.Resources))
		}
		return nil
	}
}

// sortedAlloc is what one sorted page allocates in the operator, averaged
// over sortedAllocQueries requests sent one after another on a quiet
// operator (its other work allocates too, so this is an upper bound).
func (b *bench) sortedAlloc(ctx context.Context, env *bigEnv, s *SCIM, n int) (float64, error) {
	const sortedAllocQueries = 10
	before, err := env.op.Mem(ctx, false)
	if err != nil {
		return 0, err
	}
	start := n/2 + 1
	for range sortedAllocQueries {
		r, err := s.Expect(ctx, http.MethodGet, sortedPath(start), nil, http.StatusOK)
		if err == nil {
			err = checkPage(n, start)(r)
		}
		if err != nil {
			return 0, fmt.Errorf("sorted page: %w", err)
		}
	}
	after, err := env.op.Mem(ctx, false)
	if err != nil {
		return 0, err
	}
	return float64(after.AllocBytes-before.AllocBytes) / sortedAllocQueries / (1 << 20), nil
}

// reads measures the five reads at n users, Runs rounds of ReadQueries
// each (fewer pages), interleaved so every kind meets the same conditions.
func (b *bench) reads(ctx context.Context, env *bigEnv, n int) error {
	sc := b.sc[scReads]
	s := NewSCIM(env.op.SCIMAddr, env.big)
	for round := range b.cfg.Runs {
		rng := rand.New(rand.NewPCG(uint64(n), uint64(round)))
		kinds := readKinds(env, n, b.sizes.PageEvery, rng)
		lat := make([]latencies, len(kinds))
		began := time.Now()
		for q := range b.sizes.ReadQueries {
			i := rng.IntN(n)
			for k, kind := range kinds {
				if q%kind.every != 0 {
					continue
				}
				path, check := kind.request(i)
				t0 := time.Now()
				r, err := s.Expect(ctx, http.MethodGet, path, nil, http.StatusOK)
				lat[k] = append(lat[k], time.Since(t0))
				if err == nil {
					err = check(r)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", kind.name, err)
				}
			}
		}
		if n == b.sizes.BigUsers() {
			sc.RunSeconds = append(sc.RunSeconds, time.Since(began).Seconds())
		}
		for k, kind := range kinds {
			sc.recordAt(kind.series+" p50", n, fmt.Sprintf("reads.%s.u%d.p50_ms", kind.key, n), fmt.Sprintf("%s users: %s, p50", thousands(n), kind.name), "ms", lat[k].p50())
			sc.recordAt(kind.series+" p99", n, fmt.Sprintf("reads.%s.u%d.p99_ms", kind.key, n), fmt.Sprintf("%s users: %s, p99", thousands(n), kind.name), "ms", lat[k].p99())
		}
	}
	mib, err := b.sortedAlloc(ctx, env, s, n)
	if err != nil {
		return err
	}
	sc.recordAt("sorted page MiB", n, fmt.Sprintf("reads.sorted.u%d.alloc_mib", n), fmt.Sprintf("%s users: sorted page of 100, operator allocation per request", thousands(n)), "MiB", mib)
	if s.Retries.Load() > 0 {
		sc.note("%d reads at %s users were answered 429/503 and retried (their latency includes the wait).", s.Retries.Load(), thousands(n))
	}
	return nil
}

// randomCase flips letters to upper case at random: userName is compared
// case-insensitively, and IdPs do not always send the stored case.
func randomCase(rng *rand.Rand, s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'z' && rng.IntN(2) == 0 {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out)
}
