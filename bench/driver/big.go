package driver

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// bigEnv is the control plane that grows to the largest number of users.
type bigEnv struct {
	cl     *Cluster
	op     *Operator // nil while the users are seeded
	writes Endpoint
	big    Endpoint
	ids    []string // SCIM ids of the seeded users, by index
}

// runBig runs scenarios 2, 5, 3 and 6 on one control plane: the write ratio
// first (on an empty cluster), then memory, restart and reads at each scale
// while users are seeded with no operator running, then the large group.
func (b *bench) runBig(ctx context.Context) {
	dir, cleanup, err := b.tempDir("big")
	if err != nil {
		b.sc[scMemory].fail(err)
		return
	}
	defer cleanup()
	env := &bigEnv{}
	if env.cl, err = StartCluster(dir); err != nil {
		b.sc[scMemory].fail(err)
		return
	}
	defer func() { _ = env.cl.Stop() }()
	defer func() {
		if env.op != nil {
			env.op.Stop()
		}
	}()
	if err := b.prepareBig(ctx, env); err != nil {
		b.sc[scWrites].fail(err)
		return
	}
	b.say("write ratio")
	if err := b.profiled(ctx, env.op, b.sc[scWrites], func() error { return b.writeRatio(ctx, env) }); err != nil {
		b.sc[scWrites].fail(err)
	}
	if err := b.removeUsers(ctx, env.cl, env.writes); err != nil {
		b.sc[scMemory].fail(fmt.Errorf("removing the write ratio's users before measuring memory: %w", err))
		return
	}
	b.save()
	for _, n := range append([]int{0}, b.sizes.ReadScales...) {
		if ctx.Err() != nil {
			return
		}
		if err := b.atScale(ctx, env, n); err != nil {
			b.sc[scMemory].fail(fmt.Errorf("at %s users: %w", thousands(n), err))
			return
		}
		b.save()
	}
	b.say("large group of %s members", thousands(len(env.ids)))
	if err := b.largeGroup(ctx, env); err != nil {
		b.sc[scGroup].fail(err)
	}
	b.save()
	if ctx.Err() != nil {
		return
	}
	b.say("operator start at %s users in a container sized at the target", thousands(len(env.ids)))
	if err := b.limitedRestart(ctx, env); err != nil {
		b.sc[scMemory].fail(fmt.Errorf("start under the memory limit: %w", err))
	}
	b.save()
}

// prepareBig starts the operator and creates both endpoints through it.
func (b *bench) prepareBig(ctx context.Context, env *bigEnv) error {
	var err error
	if env.op, err = b.startOperator(ctx, env.cl, "writes"); err != nil {
		return err
	}
	if _, err := env.op.WaitReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	if env.writes, err = env.cl.CreateEndpoint(ctx, "writes", "okta"); err != nil {
		return err
	}
	if env.big, err = env.cl.CreateEndpoint(ctx, "big", "okta"); err != nil {
		return err
	}
	for _, ep := range []Endpoint{env.writes, env.big} {
		if err := NewSCIM(env.op.SCIMAddr, ep).WaitServing(ctx, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// removeUsers deletes an endpoint's users and uniqueness claims (they carry
// no finalizer: the endpoint has no TenantApp) and waits until they are gone.
// A delete-collection of thousands of objects can outlast the API server's
// request timeout on a busy machine (it then resets the stream); it is
// repeated until the users are gone, for up to 3 minutes.
func (b *bench) removeUsers(ctx context.Context, cl *Cluster, ep Endpoint) error {
	deadline := time.Now().Add(3 * time.Minute)
	var lastErr error
	for {
		for _, obj := range []client.Object{&scimv1.ScimUser{}, &scimv1.ScimClaim{}} {
			if err := cl.Client.DeleteAllOf(ctx, obj, client.InNamespace(ep.Namespace)); err != nil {
				lastErr = err
			}
		}
		for range 10 {
			var list scimv1.ScimUserList
			if err := cl.Client.List(ctx, &list, client.InNamespace(ep.Namespace), client.Limit(1)); err != nil {
				return err
			}
			if len(list.Items) == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("users of %s/%s still present after 3 minutes (last delete error: %v)", ep.Namespace, ep.Name, lastErr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// atScale seeds the big endpoint up to n users with no operator running,
// then restarts the operator Runs times, measuring start-up and memory, and
// measures reads with the last one. The operator is left running at the
// largest scale, for the large group.
func (b *bench) atScale(ctx context.Context, env *bigEnv, n int) error {
	if env.op != nil {
		env.op.Stop()
		env.op = nil
	}
	if len(env.ids) < n {
		b.say("seeding users %s..%s directly through the API server", thousands(len(env.ids)), thousands(n))
		began := time.Now()
		from := len(env.ids)
		var err error
		if env.ids, err = seedUsers(ctx, env.cl.Client, env.big, env.ids, from, n); err != nil {
			return err
		}
		b.sc[scMemory].note("Seeding %s users directly through the API server (32 clients) took %s.", thousands(n-from), time.Since(began).Round(time.Second))
	}
	for run := range b.cfg.Runs {
		if env.op != nil {
			env.op.Stop()
			env.op = nil
		}
		b.say("operator start %d/%d at %s users", run+1, b.cfg.Runs, thousands(n))
		if err := b.restart(ctx, env, n); err != nil {
			return err
		}
	}
	if n == b.sizes.BigUsers() {
		rel := filepath.Join("profiles", "heap-at-largest-scale.pprof")
		if err := env.op.SaveProfile(ctx, "heap", filepath.Join(b.out, rel)); err == nil {
			b.sc[scMemory].Profile = rel
		}
	}
	if n == 0 {
		return nil
	}
	b.say("reads at %s users", thousands(n))
	if n == b.sizes.BigUsers() {
		return b.profiled(ctx, env.op, b.sc[scReads], func() error { return b.reads(ctx, env, n) })
	}
	return b.reads(ctx, env, n)
}
