package driver

import (
	"context"
	"fmt"
	"time"
)

// syncPlan is what the IdP pushes in one initial sync, and what the
// projections must show afterwards.
type syncPlan struct {
	userNames []string
	groups    []string // displayNames; group g is bound by binding bindingName(g)
	members   [][]int  // user indices per group
	ofUser    [][]int  // group indices per user
}

func bindingName(g int) string { return fmt.Sprintf("team-%03d", g) }

// newSyncPlan puts each user in GroupsPerUser distinct groups, spread so
// every group has the same number of members.
func newSyncPlan(s Sizes) syncPlan {
	p := syncPlan{userNames: make([]string, s.SyncUsers), groups: make([]string, s.SyncGroups),
		members: make([][]int, s.SyncGroups), ofUser: make([][]int, s.SyncUsers)}
	for g := range p.groups {
		p.groups[g] = fmt.Sprintf("Team %03d", g)
	}
	stride := s.SyncGroups / s.GroupsPerUser
	for u := range p.userNames {
		p.userNames[u] = fmt.Sprintf("okta-%06d@example.com", u)
		for k := range s.GroupsPerUser {
			g := (u + k*stride) % s.SyncGroups
			p.members[g] = append(p.members[g], u)
			p.ofUser[u] = append(p.ofUser[u], g)
		}
	}
	return p
}

// wantSubjects is, per binding, the userNames its RoleBindings must hold.
func (p syncPlan) wantSubjects() (map[string]map[string]bool, int) {
	want := map[string]map[string]bool{}
	total := 0
	for g, us := range p.members {
		set := map[string]bool{}
		for _, u := range us {
			set[p.userNames[u]] = true
		}
		want[bindingName(g)] = set
		total += len(set)
	}
	return want, total
}

// syncEnv is one initial-sync run's world: control plane, operator, endpoint
// with its TenantApp and bindings, and the driver's views of the projections.
type syncEnv struct {
	cl   *Cluster
	op   *Operator
	ep   Endpoint
	scim *SCIM
	rb   *rbWatch
	db   *tenantDB
	plan syncPlan
	ids  []string // SCIM ids of the users, by index
}

// newSyncEnv starts a control plane and an operator and creates the
// endpoint, its TenantApp on database db and one binding per group.
func (b *bench) newSyncEnv(ctx context.Context, dir, db string) (_ *syncEnv, _ func(), err error) {
	// The cleanup is a local, not the named result: "return nil, nil, err"
	// sets the result to nil before the deferred call runs, which then
	// panicked and left the control plane running.
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stopAll()
		}
	}()
	env := &syncEnv{plan: newSyncPlan(b.sizes)}
	if env.cl, err = StartCluster(dir); err != nil {
		return nil, nil, err
	}
	stops = append(stops, func() { _ = env.cl.Stop() })
	if err = b.pg.CreateDatabase(ctx, db); err != nil {
		return nil, nil, err
	}
	if env.op, err = b.startOperator(ctx, env.cl, "sync"); err != nil {
		return nil, nil, err
	}
	stops = append(stops, env.op.Stop)
	if _, err = env.op.WaitReady(ctx, 2*time.Minute); err != nil {
		return nil, nil, err
	}
	if env.ep, err = env.cl.CreateEndpoint(ctx, "sync", "okta"); err != nil {
		return nil, nil, err
	}
	if err = env.cl.CreateTenantApp(ctx, env.ep, "app", b.pg.DSN(db)); err != nil {
		return nil, nil, err
	}
	for g, name := range env.plan.groups {
		if err = env.cl.CreateBinding(ctx, env.ep, bindingName(g), name); err != nil {
			return nil, nil, err
		}
	}
	env.scim = NewSCIM(env.op.SCIMAddr, env.ep)
	if err = env.scim.WaitServing(ctx, time.Minute); err != nil {
		return nil, nil, err
	}
	if env.rb, err = watchRoleBindings(ctx, env.cl, env.ep.Namespace); err != nil {
		return nil, nil, err
	}
	stops = append(stops, env.rb.close)
	if env.db, err = openTenantDB(ctx, b.pg.DSN(db)); err != nil {
		return nil, nil, err
	}
	stops = append(stops, env.db.close)
	return env, stopAll, nil
}
