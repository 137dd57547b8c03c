package driver

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// deprovWait bounds the wait for one deactivation to be projected.
const deprovWait = 30 * time.Second

// deprovision deactivates DeprovSamples users of a completed initial sync,
// one at a time, and times both projections of each.
func (b *bench) deprovision(ctx context.Context, env *syncEnv) error {
	sc := b.sc[scDeprov]
	p := env.plan
	n := min(b.sizes.DeprovSamples, len(p.userNames))
	var both, rbac, tenant, rbacFromResponse, request latencies
	began := time.Now()
	for k := range n {
		u := k * len(p.userNames) / n
		bindings := map[string]bool{}
		for _, g := range p.ofUser[u] {
			bindings[bindingName(g)] = true
		}
		if !env.rb.grants(bindings, p.userNames[u]) {
			return fmt.Errorf("user %s holds no grant before its deactivation", p.userNames[u])
		}
		sent := time.Now()
		if _, err := env.scim.Expect(ctx, http.MethodPatch, "/Users/"+env.ids[u], oktaSetActive(false), http.StatusOK); err != nil {
			return err
		}
		answered := time.Now()
		dbDone := make(chan error, 1)
		var dbAt time.Time
		go func() {
			err := env.db.waitInactive(ctx, env.ids[u], deprovWait)
			dbAt = time.Now()
			dbDone <- err
		}()
		rbErr := env.rb.until(ctx, deprovWait, 5*time.Millisecond, func() bool { return !env.rb.grants(bindings, p.userNames[u]) })
		rbAt := time.Now()
		if err := <-dbDone; err != nil {
			return err
		}
		if rbErr != nil {
			return fmt.Errorf("user %s: %w", p.userNames[u], rbErr)
		}
		request = append(request, answered.Sub(sent))
		rbac = append(rbac, rbAt.Sub(sent))
		tenant = append(tenant, dbAt.Sub(sent))
		rbacFromResponse = append(rbacFromResponse, rbAt.Sub(answered))
		both = append(both, max(rbAt.Sub(sent), dbAt.Sub(sent)))
	}
	sc.RunSeconds = append(sc.RunSeconds, time.Since(began).Seconds())
	for _, f := range []struct {
		key, name string
		l         latencies
	}{
		{"both", "RoleBinding and tenant row, from the PATCH sent", both},
		{"rbac", "RoleBinding subject removed, from the PATCH sent", rbac},
		{"tenant", "tenant row inactive, from the PATCH sent", tenant},
		{"rbac_from_response", "RoleBinding subject removed, from the PATCH response", rbacFromResponse},
		{"patch", "the PATCH request alone", request},
	} {
		sc.record("deprov."+f.key+".p50_ms", f.name+", p50", "ms", f.l.p50())
		sc.record("deprov."+f.key+".p99_ms", f.name+", p99", "ms", f.l.p99())
	}
	sc.record("deprov.both.max_ms", "RoleBinding and tenant row, from the PATCH sent, max", "ms", both.max())
	sc.note("%d deactivations per run, each user a member of %d bound groups, out of %s users.", n, b.sizes.GroupsPerUser, thousands(len(p.userNames)))
	return nil
}
