package driver

import (
	"context"
	"encoding/json"
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

// benchEntitlement is the catalog entry revokeEntitlements grants and revokes.
const benchEntitlement = "bench-access"

// revokeEntitlements measures a revocation decided in the IdP's governance:
// for DeprovSamples users still active, Okta's grant (GET, then PUT of the
// whole user with the role) is awaited in the RoleBindings of a
// ScimEntitlement granting view, then the revocation (the same PUT without
// the role) is timed from the PUT sent to the subject's removal.
func (b *bench) revokeEntitlements(ctx context.Context, env *syncEnv) error {
	sc := b.sc[scDeprov]
	if err := env.cl.CreateEntitlement(ctx, env.ep, benchEntitlement); err != nil {
		return err
	}
	p := env.plan
	n := min(b.sizes.DeprovSamples, len(p.userNames)/2)
	only := map[string]bool{benchEntitlement: true}
	var revoked, request latencies
	for k := range n {
		// Odd positions: the deactivation samples took k*len/n.
		u := (2*k + 1) * len(p.userNames) / (2 * n)
		user, err := b.userBody(ctx, env, u)
		if err != nil {
			return err
		}
		user["roles"] = []map[string]any{{"value": benchEntitlement, "display": "Bench access"}}
		if _, err := env.scim.Expect(ctx, http.MethodPut, "/Users/"+env.ids[u], user, http.StatusOK); err != nil {
			return err
		}
		if err := env.rb.until(ctx, deprovWait, 5*time.Millisecond, func() bool { return env.rb.grants(only, p.userNames[u]) }); err != nil {
			return fmt.Errorf("granting %s to %s: %w", benchEntitlement, p.userNames[u], err)
		}
		user["roles"] = []map[string]any{}
		sent := time.Now()
		if _, err := env.scim.Expect(ctx, http.MethodPut, "/Users/"+env.ids[u], user, http.StatusOK); err != nil {
			return err
		}
		answered := time.Now()
		if err := env.rb.until(ctx, deprovWait, 5*time.Millisecond, func() bool { return !env.rb.grants(only, p.userNames[u]) }); err != nil {
			return fmt.Errorf("revoking %s from %s: %w", benchEntitlement, p.userNames[u], err)
		}
		revoked = append(revoked, time.Since(sent))
		request = append(request, answered.Sub(sent))
	}
	sc.record("deprov.entitlement.p50_ms", "entitlement revoked by Okta's PUT: RoleBinding subject removed, from the PUT sent, p50", "ms", revoked.p50())
	sc.record("deprov.entitlement.p99_ms", "entitlement revoked by Okta's PUT: RoleBinding subject removed, from the PUT sent, p99", "ms", revoked.p99())
	sc.record("deprov.entitlement_put.p50_ms", "the revoking PUT request alone, p50", "ms", request.p50())
	sc.note("%d entitlement revocations per run: Okta's GET and PUT with the role, then the PUT without it.", n)
	return nil
}

// userBody is the user as GET /Users/{id} answers it, which Okta edits and
// PUTs back whole.
func (b *bench) userBody(ctx context.Context, env *syncEnv, u int) (map[string]any, error) {
	r, err := env.scim.Expect(ctx, http.MethodGet, "/Users/"+env.ids[u], nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var user map[string]any
	if err := json.Unmarshal(r.Body, &user); err != nil {
		return nil, fmt.Errorf("decoding user %s: %w", env.ids[u], err)
	}
	delete(user, "meta")
	return user, nil
}
