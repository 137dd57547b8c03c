package operations

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

const patchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// TestFailover runs two replicas against one API server, as the chart's
// default replicaCount: 2 does. Both serve SCIM, only the elected one
// reconciles; when the leader goes away the other takes over and projects a
// group change made after the leader stopped. The gap from the stop to the
// projected RoleBinding is logged, for a clean stop (the Lease is released,
// as on a rolling update or drain) and for a crash (the Lease must expire),
// with controller-runtime's default timings (lease 15 s, renew 10 s, retry 2 s).
func TestFailover(t *testing.T) {
	for _, tc := range []struct {
		reason    string
		keepLease bool
		budget    time.Duration // generous bound on the gap, on a loaded machine
	}{
		{"clean stop releases the lease", false, 30 * time.Second},
		{"crash leaves the lease to expire", true, 60 * time.Second},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			leader := start(t, testharness.Options{LeaderElection: true, KeepLeaseOnStop: tc.keepLease})
			waitElected(t, leader, 60*time.Second)
			follower := start(t, testharness.Options{LeaderElection: true})

			ns := testharness.UniqueName("failover")
			e := leader.NewEndpoint(t, ns, "okta")
			ef := onReplica(t, e, follower)

			// Both replicas serve SCIM: each creates a user, the follower
			// creates the group.
			ada := createUser(t, e, "ada@example.com")
			alan := createUser(t, ef, "alan@example.com")
			group := ef.Do(t, http.MethodPost, "/Groups", map[string]any{
				"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
				"displayName": "k8s-viewers",
				"members":     []map[string]any{{"value": ada}},
			})
			if group.Status != http.StatusCreated {
				t.Fatalf("POST /Groups on the follower = %d: %s", group.Status, group.Body)
			}
			groupID, _ := group.JSON(t)["id"].(string)

			ctx := context.Background()
			binding := &scimv1.ScimRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "viewers"},
				Spec: scimv1.ScimRoleBindingSpec{
					Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "k8s-viewers"},
					RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				},
			}
			if err := leader.Client.Create(ctx, binding); err != nil {
				t.Fatal(err)
			}
			waitSubjects(t, leader.Client, ns, []string{"ada@example.com"}, 60*time.Second)

			// Only one reconciles: the follower stays a candidate while the
			// leader lives.
			for range 3 {
				if !leader.elected() || follower.elected() {
					t.Fatalf("want only the first replica elected: leader %v, follower %v", leader.elected(), follower.elected())
				}
				time.Sleep(500 * time.Millisecond)
			}

			electedAt := make(chan time.Time, 1)
			go func() {
				<-follower.Manager.Elected()
				electedAt <- time.Now()
			}()
			stopped := time.Now()
			if err := leader.Stop(); err != nil {
				if !tc.keepLease {
					t.Fatalf("stopping the leader: %v", err)
				}
				// A leader that keeps its Lease reports it as lost on the way out.
				t.Logf("stopping the leader that keeps its Lease: %v", err)
			}
			stopTook := time.Since(stopped)

			// A group change made after the stop, through the surviving replica.
			patch := ef.Do(t, http.MethodPatch, "/Groups/"+groupID, map[string]any{
				"schemas":    []string{patchOpURN},
				"Operations": []map[string]any{{"op": "add", "path": "members", "value": []map[string]any{{"value": alan}}}},
			})
			if patch.Status != http.StatusOK && patch.Status != http.StatusNoContent {
				t.Fatalf("PATCH /Groups on the follower with no leader = %d: %s", patch.Status, patch.Body)
			}
			waitSubjects(t, follower.Client, ns, []string{"ada@example.com", "alan@example.com"}, tc.budget)
			gap := time.Since(stopped)

			var elected time.Duration
			select {
			case at := <-electedAt:
				elected = at.Sub(stopped)
			case <-time.After(5 * time.Second):
				t.Fatal("the change was projected but the follower is not elected")
			}
			t.Logf("failover after a %s: leader stopped in %v; follower elected %v after the stop; "+
				"group change made after the stop projected into the RoleBinding %v after the stop",
				tc.reason, stopTook.Round(time.Millisecond), elected.Round(time.Millisecond), gap.Round(time.Millisecond))
		})
	}
}

// waitElected waits until the replica runs the reconcilers.
func waitElected(t *testing.T, r *replica, within time.Duration) {
	t.Helper()
	select {
	case <-r.Manager.Elected():
	case <-time.After(within):
		t.Fatalf("replica %s was not elected within %v", r.Addr, within)
	}
}

// onReplica returns e as served by another replica, once it accepts the token.
func onReplica(t *testing.T, e *testharness.Endpoint, r *replica) *testharness.Endpoint {
	t.Helper()
	other := *e
	other.BaseURL = "http://" + r.Addr + scimserver.PathPrefix + e.Namespace + "/" + e.Name
	deadline := time.Now().Add(30 * time.Second)
	for other.Do(t, http.MethodGet, "/ServiceProviderConfig", nil).Status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s never accepted the endpoint's token", r.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &other
}

// createUser creates a user through e and returns its id.
func createUser(t *testing.T, e *testharness.Endpoint, userName string) string {
	t.Helper()
	res := e.Do(t, http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true,
	})
	if res.Status != http.StatusCreated {
		t.Fatalf("POST /Users = %d: %s", res.Status, res.Body)
	}
	id, _ := res.JSON(t)["id"].(string)
	return id
}

// waitSubjects polls the RoleBindings the operator owns in ns until their
// User subjects are exactly want.
func waitSubjects(t *testing.T, c client.Client, ns string, want []string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var last []string
	for {
		got, err := subjects(ctx, c, ns)
		if err == nil && slices.Equal(got, want) {
			return
		}
		last = got
		select {
		case <-ctx.Done():
			t.Fatalf("RoleBinding subjects in %s = %v after %v, want %v (last error %v)", ns, last, within, want, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// subjects returns the sorted User subjects of the owned RoleBindings in ns.
func subjects(ctx context.Context, c client.Client, ns string) ([]string, error) {
	var rbs rbacv1.RoleBindingList
	if err := c.List(ctx, &rbs, client.InNamespace(ns),
		client.MatchingLabels{scimv1.LabelManagedBy: scimv1.ManagedByValue}); err != nil {
		return nil, fmt.Errorf("listing RoleBindings: %w", err)
	}
	var out []string
	for _, rb := range rbs.Items {
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.UserKind {
				out = append(out, s.Name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
