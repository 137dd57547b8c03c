package driver

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// writeRatio runs WriteRounds pairs of raw and SCIM create rounds at each
// concurrency level on the writes endpoint.
func (b *bench) writeRatio(ctx context.Context, env *bigEnv) error {
	sc := b.sc[scWrites]
	s := NewSCIM(env.op.SCIMAddr, env.writes)
	n := b.sizes.WriteUsers
	timed := func(clients int, create func(ctx context.Context, i int) error) (float64, error) {
		began := time.Now()
		err := forEach(ctx, n, clients, create)
		return float64(n) / time.Since(began).Seconds(), err
	}
	for _, clients := range b.sizes.Clients {
		began := time.Now()
		for round := range b.sizes.WriteRounds {
			name := func(kind string, i int) string {
				return fmt.Sprintf("w-c%d-r%d-%s-%05d@example.com", clients, round, kind, i)
			}
			raw := func() (float64, error) {
				return timed(clients, func(ctx context.Context, i int) error {
					return env.cl.Client.Create(ctx, storedUser(env.writes, name("raw", i), fmt.Sprintf("00uraw%d%d%05d", clients, round, i)))
				})
			}
			viaSCIM := func() (float64, error) {
				return timed(clients, func(ctx context.Context, i int) error {
					_, err := s.Expect(ctx, http.MethodPost, "/Users", oktaUser(name("scim", i), fmt.Sprintf("00uscim%d%d%05d", clients, round, i)), http.StatusCreated)
					return err
				})
			}
			first, second := raw, viaSCIM
			if round%2 == 1 {
				first, second = viaSCIM, raw
			}
			a, err := first()
			if err != nil {
				return err
			}
			c, err := second()
			if err != nil {
				return err
			}
			rawRate, scimRate := a, c
			if round%2 == 1 {
				rawRate, scimRate = c, a
			}
			key := func(k string) string { return fmt.Sprintf("writes.c%d.%s", clients, k) }
			sc.record(key("raw_per_s"), fmt.Sprintf("%d clients: raw ScimUser creates per second", clients), "creates/s", rawRate)
			sc.record(key("scim_per_s"), fmt.Sprintf("%d clients: SCIM POST /Users per second", clients), "creates/s", scimRate)
			sc.record(key("ratio"), fmt.Sprintf("%d clients: ratio SCIM ÷ raw", clients), "ratio", scimRate/rawRate)
		}
		sc.RunSeconds = append(sc.RunSeconds, time.Since(began).Seconds())
	}
	if r := s.Retries.Load(); r > 0 {
		sc.note("%d SCIM creates were answered 429/503 and retried after Retry-After (their wait is in the rate).", r)
	}
	sc.note("%d rounds of %d creates per kind and concurrency; the ratio of each round pair is one value.", b.sizes.WriteRounds, n)
	return nil
}
