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

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// BenchmarkCreateUsers measures POST /Users throughput with 16 concurrent
// clients against raw creates of the same ScimUser objects through a
// controller-runtime client on the same API server. Raw and SCIM rounds
// alternate, and each metric is the median over rounds (the ratio the
// median of adjacent raw/SCIM pairs), so a burst of load from elsewhere on
// the machine skews one round, not the result. A SCIM create costs the user
// (named after its userName, so no separate uniqueness claim) and a wait
// until the cache has it (the uniqueness check then reads the cache), where
// a raw create costs the user alone; scim/raw is the share of the raw rate
// the SCIM server keeps (target ≥ 0.7).
func BenchmarkCreateUsers(b *testing.B) {
	const clients, perRound, rounds = 16, 250, 8
	op := testharness.RunOperator(b, cp, testharness.Options{})
	e := op.NewEndpoint(b, testharness.UniqueName("bench-create"), "okta")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prefix := testharness.UniqueName("create")
	timed := func(create func(ctx context.Context, i int) error) (float64, error) {
		began := time.Now()
		err := parallel(ctx, perRound, clients, create)
		return perRound / time.Since(began).Seconds(), err
	}
	rawRound := func(round int) (float64, error) {
		return timed(func(ctx context.Context, i int) error {
			return op.Client.Create(ctx, seededUser(e.Namespace, e.Name, fmt.Sprintf("%s-raw-%d-%d@example.com", prefix, round, i)))
		})
	}
	scimRound := func(round int) (float64, error) {
		return timed(func(ctx context.Context, i int) error {
			res, err := call(ctx, e, http.MethodPost, "/Users", oktaUser(fmt.Sprintf("%s-scim-%d-%d@example.com", prefix, round, i)))
			if err == nil && res.Status != http.StatusCreated {
				err = fmt.Errorf("POST /Users answered %d: %s", res.Status, res.Body)
			}
			return err
		})
	}
	var rawRates, scimRates, ratios []float64
	round := 0
	for b.Loop() {
		for range rounds {
			var raw, scim float64
			var err error
			if round%2 == 0 {
				if raw, err = rawRound(round); err == nil {
					scim, err = scimRound(round)
				}
			} else {
				if scim, err = scimRound(round); err == nil {
					raw, err = rawRound(round)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			rawRates, scimRates, ratios = append(rawRates, raw), append(scimRates, scim), append(ratios, scim/raw)
			round++
		}
	}
	b.ReportMetric(median(rawRates), "raw-creates/s")
	b.ReportMetric(median(scimRates), "scim-creates/s")
	b.ReportMetric(median(ratios), "scim/raw")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkFilterUserName measures the latency of Okta's and Entra's user
// lookup, GET /Users?filter=userName eq "...", at 10,000 and 100,000 users,
// one request at a time, with the userName in random letter case, on an
// operator that has settled after loading the users. The lookup is an index
// read of the informer cache, so it should not depend on the number of users
// (target p99 < 5 ms).
func BenchmarkFilterUserName(b *testing.B) {
	e := quietEndpoint(b, "bench-filter")
	seeder, err := cp.Client()
	if err != nil {
		b.Fatal(err)
	}
	const settle = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	prefix := testharness.UniqueName("filter")
	userName := func(i int) string { return fmt.Sprintf("%s-%06d@example.com", prefix, i) }
	// Users are seeded with no operator running (see quietEndpoint); an
	// operator started afterwards serves the lookups.
	var (
		op     *testharness.Operator
		served *testharness.Endpoint
		seeded int
		stopOp = func() {
			if op != nil {
				if err := op.Stop(); err != nil {
					b.Errorf("stopping the operator: %v", err)
				}
				op = nil
			}
		}
	)
	b.Cleanup(stopOp)
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", size), func(b *testing.B) {
			if seeded < size {
				stopOp()
				from := seeded
				ids, err := seedUsers(ctx, seeder, e, size-from, 32, func(i int) string { return userName(from + i) })
				if err != nil {
					b.Fatal(err)
				}
				seeded = size
				if op, err = testharness.StartOperator(cp, false); err != nil {
					b.Fatal(err)
				}
				served = onReplica(b, e, op)
				if err := waitServed(ctx, served, "/Users/"+ids[len(ids)-1]); err != nil {
					b.Fatal(err)
				}
				// For a few seconds after it starts, an operator holding
				// 100,000 users is busy with its controllers' first pass
				// over them, and lookups take 50-200 ms. That start-up is
				// not what this benchmark measures: it waits it out.
				time.Sleep(settle)
			}
			const queries = 1000
			rng := rand.New(rand.NewPCG(uint64(size), 1))
			var lat []time.Duration
			for b.Loop() {
				for range queries {
					want := userName(rng.IntN(size))
					path := "/Users?filter=" + url.QueryEscape(fmt.Sprintf("userName eq %q", randomCase(rng, want)))
					began := time.Now()
					res, err := call(ctx, served, http.MethodGet, path, nil)
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
