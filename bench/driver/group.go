package driver

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// groupWait bounds each wait for the large group's RoleBindings.
const groupWait = 10 * time.Minute

// largeGroup is scenario 6 on the big endpoint, with every seeded user.
func (b *bench) largeGroup(ctx context.Context, env *bigEnv) error {
	sc := b.sc[scGroup]
	return b.profiled(ctx, env.op, sc, func() error {
		began := time.Now()
		err := b.buildGroup(ctx, env, sc)
		sc.RunSeconds = append(sc.RunSeconds, time.Since(began).Seconds())
		return err
	})
}

func (b *bench) buildGroup(ctx context.Context, env *bigEnv, sc *Scenario) error {
	s := NewSCIM(env.op.SCIMAddr, env.big)
	n, batch := len(env.ids), b.sizes.GroupBatch
	const display = "All Employees"
	began := time.Now()
	gid, err := created(s.Expect(ctx, http.MethodPost, "/Groups", oktaGroup(display), http.StatusCreated))
	if err != nil {
		return err
	}
	var patches latencies
	// Where a PATCH's time goes in the last tenth: the CPU of the operator,
	// kube-apiserver and etcd over those PATCHes (the driver's client is
	// idle while it waits).
	lastTenth := n - max(1, n/batch/10)*batch
	var cpu0 map[string]float64
	for start := 0; start < n; start += batch {
		if start == lastTenth {
			cpu0 = b.groupCPU(ctx, env)
		}
		t0 := time.Now()
		if _, err := s.Expect(ctx, http.MethodPatch, "/Groups/"+gid, oktaMemberAdd(env.ids[start:min(start+batch, n)]),
			http.StatusOK, http.StatusNoContent); err != nil {
			return fmt.Errorf("adding members %d..: %w", start, err)
		}
		patches = append(patches, time.Since(t0))
	}
	build := time.Since(began)
	if cpu0 != nil {
		cpu1, k := b.groupCPU(ctx, env), float64((n-lastTenth+batch-1)/batch)
		for _, who := range []string{"operator", "kube-apiserver", "etcd"} {
			sc.record("group.patch_last_cpu_"+strings.ReplaceAll(who, "kube-", "")+"_ms",
				fmt.Sprintf("member-add PATCH in the last tenth: CPU of %s per PATCH", who), "ms", (cpu1[who]-cpu0[who])*1000/k)
		}
	}
	m := thousands(n)
	sc.record("group.build_s", fmt.Sprintf("build %s members in %d PATCHes of %d", m, len(patches), batch), "s", build.Seconds())
	sc.record("group.patch_p50_ms", "member-add PATCH, p50", "ms", patches.p50())
	sc.record("group.patch_p99_ms", "member-add PATCH, p99", "ms", patches.p99())
	tenth := max(1, len(patches)/10)
	sc.record("group.patch_first_ms", "member-add PATCH, median of the first tenth", "ms", latencies(patches[:tenth]).p50())
	sc.record("group.patch_last_ms", "member-add PATCH, median of the last tenth", "ms", latencies(patches[len(patches)-tenth:]).p50())
	if n := s.Retries.Load(); n > 0 {
		sc.note("%d member-add PATCHes were answered 503 and retried after Retry-After (included in the build time).", n)
	}

	t0 := time.Now()
	r, err := s.Expect(ctx, http.MethodGet, "/Groups/"+gid, nil, http.StatusOK)
	if err != nil {
		return err
	}
	sc.record("group.get_full_s", fmt.Sprintf("GET of the whole group (%s KiB)", thousands(len(r.Body)>>10)), "s", time.Since(t0).Seconds())
	var g struct{ Members []struct{ Value string } }
	if err := r.decode(&g); err != nil {
		return err
	}
	if len(g.Members) != n {
		return fmt.Errorf("the group reads back with %d members, want %d", len(g.Members), n)
	}
	return b.groupBinding(ctx, env, sc, s, gid, display)
}

// groupCPU samples the CPU seconds used so far by the operator and by the
// control plane's processes.
func (b *bench) groupCPU(ctx context.Context, env *bigEnv) map[string]float64 {
	out := descendantCPU("kube-apiserver", "etcd")
	if m, err := env.op.Mem(ctx, false); err == nil {
		out["operator"] = m.CPUSeconds
	}
	return out
}

// groupBinding binds the group and times the first projection, then single
// member changes.
func (b *bench) groupBinding(ctx context.Context, env *bigEnv, sc *Scenario, s *SCIM, gid, display string) error {
	rb, err := watchRoleBindings(ctx, env.cl, env.big.Namespace)
	if err != nil {
		return err
	}
	defer rb.close()
	n := len(env.ids)
	want := map[string]map[string]bool{"all-employees": make(map[string]bool, n)}
	for i := range n {
		want["all-employees"][seedUserName(i)] = true
	}
	t0 := time.Now()
	if err := env.cl.CreateBinding(ctx, env.big, "all-employees", display); err != nil {
		return err
	}
	if err := rb.every(ctx, groupWait, 200*time.Millisecond, func() bool { m, extra := rb.match(want); return m == n && extra == 0 }); err != nil {
		return fmt.Errorf("binding the %s-member group: %w", thousands(n), err)
	}
	sc.record("group.binding_s", "new ScimRoleBinding on the group until its RoleBindings hold every member", "s", time.Since(t0).Seconds())
	sc.note("The binding's RoleBindings: %d objects for %s subjects.", rb.count(), thousands(n))

	only := map[string]bool{"all-employees": true}
	var scimRemove, scimAdd, rbRemove, rbAdd latencies
	// The member changes get a CPU profile of their own: the build's
	// dwarfs them in the scenario's. The scenario's profile ends here; the
	// changes' one ends with the scenario.
	if err := env.op.StopCPUProfile(ctx); err == nil {
		rel := filepath.Join("profiles", "group-changes.pprof")
		if err := env.op.StartCPUProfile(ctx, filepath.Join(b.out, rel)); err != nil {
			sc.note("no CPU profile of the member changes: %v", err)
		} else {
			sc.note("Operator CPU profile of the member changes alone: `%s`.", rel)
		}
	}
	cpu0, err := env.op.Mem(ctx, false)
	if err != nil {
		return err
	}
	changes := b.sizes.MemberChanges
	for k := range changes {
		i := k * n / changes
		id, user := env.ids[i], seedUserName(i)
		for _, step := range []struct {
			body      map[string]any
			granted   bool
			scim, rbl *latencies
		}{
			{oktaMemberRemove(id), false, &scimRemove, &rbRemove},
			{oktaMemberAdd([]string{id}), true, &scimAdd, &rbAdd},
		} {
			t := time.Now()
			if _, err := s.Expect(ctx, http.MethodPatch, "/Groups/"+gid, step.body, http.StatusOK, http.StatusNoContent); err != nil {
				return err
			}
			*step.scim = append(*step.scim, time.Since(t))
			if err := rb.until(ctx, time.Minute, 5*time.Millisecond, func() bool { return rb.grants(only, user) == step.granted }); err != nil {
				return fmt.Errorf("member change of %s: %w", user, err)
			}
			*step.rbl = append(*step.rbl, time.Since(t))
		}
	}
	cpu1, err := env.op.Mem(ctx, false)
	if err != nil {
		return err
	}
	sc.record("group.remove_p50_ms", "one member removed: PATCH, p50", "ms", scimRemove.p50())
	sc.record("group.remove_rbac_p50_ms", "one member removed: until the RoleBinding drops it, p50", "ms", rbRemove.p50())
	sc.record("group.remove_rbac_p99_ms", "one member removed: until the RoleBinding drops it, p99", "ms", rbRemove.p99())
	sc.record("group.add_p50_ms", "one member added: PATCH, p50", "ms", scimAdd.p50())
	sc.record("group.add_rbac_p50_ms", "one member added: until the RoleBinding has it, p50", "ms", rbAdd.p50())
	sc.record("group.add_rbac_p99_ms", "one member added: until the RoleBinding has it, p99", "ms", rbAdd.p99())
	sc.record("group.cpu_per_change_ms", "operator CPU per member change (SCIM write and projection)", "ms",
		(cpu1.CPUSeconds-cpu0.CPUSeconds)*1000/float64(2*changes))
	return nil
}
