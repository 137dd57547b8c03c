package scale

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkCreateUsers measures POST /Users throughput with 16 concurrent
// clients against raw creates of the same ScimUser objects through a
// controller-runtime client on the same API server, in alternating rounds
// so both see the same machine load. A SCIM create costs a uniqueness claim,
// the user and a wait for the cache on top of the raw create; scim/raw is
// the share of the raw rate the SCIM server keeps (target ≥ 0.7).
func BenchmarkCreateUsers(b *testing.B) {
	const clients, perRound, rounds = 16, 250, 4
	op := startOperator(b, false)
	e := op.NewEndpoint(b, uniqueName("bench-create"), "okta")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		rawTime, scimTime time.Duration
		created           int
		prefix            = uniqueName("create")
	)
	rawRound := func(round int) error {
		began := time.Now()
		err := parallel(ctx, perRound, clients, func(ctx context.Context, i int) error {
			return op.Client.Create(ctx, seededUser(e.Namespace, e.Name, fmt.Sprintf("%s-raw-%d-%d@example.com", prefix, round, i)))
		})
		rawTime += time.Since(began)
		return err
	}
	scimRound := func(round int) error {
		began := time.Now()
		err := parallel(ctx, perRound, clients, func(ctx context.Context, i int) error {
			res, err := call(ctx, e, http.MethodPost, "/Users", oktaUser(fmt.Sprintf("%s-scim-%d-%d@example.com", prefix, round, i)))
			if err == nil && res.Status != http.StatusCreated {
				err = fmt.Errorf("POST /Users answered %d: %s", res.Status, res.Body)
			}
			return err
		})
		scimTime += time.Since(began)
		return err
	}
	round := 0
	for b.Loop() {
		for range rounds {
			first, second := rawRound, scimRound
			if round%2 == 1 {
				first, second = scimRound, rawRound
			}
			if err := first(round); err != nil {
				b.Fatal(err)
			}
			if err := second(round); err != nil {
				b.Fatal(err)
			}
			round++
			created += perRound
		}
	}
	rawRate := float64(created) / rawTime.Seconds()
	scimRate := float64(created) / scimTime.Seconds()
	b.ReportMetric(rawRate, "raw-creates/s")
	b.ReportMetric(scimRate, "scim-creates/s")
	b.ReportMetric(scimRate/rawRate, "scim/raw")
}

// BenchmarkFilterUserName measures the latency of Okta's and Entra's user
// lookup, GET /Users?filter=userName eq "...", at 10,000 and 100,000 users,
// one request at a time, with the userName in random letter case. The
// lookup is an index read of the informer cache, so it should not depend
// on the number of users (target p99 < 5 ms).
func BenchmarkFilterUserName(b *testing.B) {
	op := startOperator(b, false)
	e := op.NewEndpoint(b, uniqueName("bench-filter"), "okta")
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	prefix := uniqueName("filter")
	userName := func(i int) string { return fmt.Sprintf("%s-%06d@example.com", prefix, i) }
	seeded := 0
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", size), func(b *testing.B) {
			if seeded < size {
				from := seeded
				if _, err := seedUsers(ctx, op.Client, e, size-from, 32, func(i int) string { return userName(from + i) }); err != nil {
					b.Fatal(err)
				}
				seeded = size
			}
			const queries = 1000
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			var lat []time.Duration
			for b.Loop() {
				for range queries {
					want := userName(rng.IntN(size))
					path := "/Users?filter=" + url.QueryEscape(fmt.Sprintf("userName eq %q", randomCase(rng, want)))
					began := time.Now()
					res, err := call(ctx, e, http.MethodGet, path, nil)
					lat = append(lat, time.Since(began))
					if err != nil {
						b.Fatal(err)
					}
					var list struct {
						TotalResults int
						Resources    []struct{ UserName string }
					}
					if res.Status != http.StatusOK || res.decode(&list) != nil || list.TotalResults != 1 ||
						len(list.Resources) != 1 || list.Resources[0].UserName != want {
						b.Fatalf("GET %s answered %d: %.300s", path, res.Status, res.Body)
					}
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		})
	}
}

func randomCase(rng *rand.Rand, s string) string {
	var sb strings.Builder
	for _, r := range s {
		if rng.IntN(2) == 0 {
			sb.WriteString(strings.ToUpper(string(r)))
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
