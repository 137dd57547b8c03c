package scale

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestConcurrentCreateOneReplica: 50 identical Okta creates racing on one
// server make exactly one user; the others are told 409 uniqueness.
func TestConcurrentCreateOneReplica(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	e := op.NewEndpoint(t, testharness.UniqueName("conc-create"), "okta")
	names := repeat("ada.lovelace@example.com", 50)
	results := raceCreates(t, []*testharness.Endpoint{e}, names)
	id := checkOneCreated(t, results)
	checkStoredUser(t, op.Client, e, "ada.lovelace@example.com", id)
	checkFilterFinds(t, e, "ADA.LOVELACE@example.com", id)
}

// TestConcurrentCreateTwoReplicas: the same race split over two operators
// sharing one API server, with identical userNames and with userNames that
// differ only in case (userName is caseExact=false, RFC 7643 §4.1.1).
func TestConcurrentCreateTwoReplicas(t *testing.T) {
	op1 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	op2 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("conc-replicas"), "okta")
	e2 := onReplica(t, e1, op2)
	for _, tc := range []struct {
		reason   string
		userName string
		names    []string
	}{
		{"identical userNames", "grace.hopper@example.com", repeat("grace.hopper@example.com", 50)},
		{"userNames differing in case", "alan.turing@example.com", caseVariants("alan.turing@example.com", 50)},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			results := raceCreates(t, []*testharness.Endpoint{e1, e2}, tc.names)
			id := checkOneCreated(t, results)
			checkStoredUser(t, op1.Client, e1, tc.userName, id)
			checkFilterFinds(t, e1, strings.ToUpper(tc.userName), id)
			checkFilterFinds(t, e2, tc.userName, id)
		})
	}
}

// TestConcurrentMemberAdds: 100 concurrent Okta member-add PATCHes of 100
// different users to one group all land, on one replica and split over two.
func TestConcurrentMemberAdds(t *testing.T) {
	op1 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	op2 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("conc-members"), "okta")
	e2 := onReplica(t, e1, op2)
	for _, tc := range []struct {
		reason  string
		targets []*testharness.Endpoint
	}{
		{"one replica", []*testharness.Endpoint{e1}},
		{"two replicas", []*testharness.Endpoint{e1, e2}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			users := createUsers(t, ctx, tc.targets, testharness.UniqueName("member"), 100)
			group := createGroup(t, ctx, e1, testharness.UniqueName("Engineering"))

			var (
				start   = make(chan struct{})
				wg      sync.WaitGroup
				results = make([]result, len(users))
				errs    = make([]error, len(users))
			)
			for i, id := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i], errs[i] = call(ctx, tc.targets[i%len(tc.targets)], http.MethodPatch, "/Groups/"+group, memberAdd([]string{id}))
				}()
			}
			close(start)
			wg.Wait()
			for i := range results {
				if errs[i] != nil {
					t.Fatalf("PATCH %d: %v", i, errs[i])
				}
				if s := results[i].Status; s != http.StatusOK && s != http.StatusNoContent {
					t.Errorf("PATCH %d answered %d: %s", i, s, results[i].Body)
				}
			}

			// With one replica, the writer reads its own writes at once; with
			// two, each replica catches up on the other's writes through its
			// informer, so it gets a few seconds.
			settle := time.Duration(0)
			if len(tc.targets) > 1 {
				settle = 10 * time.Second
			}
			for _, e := range tc.targets {
				got := eventuallyMembers(t, ctx, e, group, len(users), settle)
				if diff := cmp.Diff(sorted(users), got); diff != "" {
					t.Errorf("GET /Groups/%s on %s: members (-want +got):\n%s", group, e.BaseURL, diff)
				}
			}
			if diff := cmp.Diff(sorted(users), storedMembers(t, ctx, op1.Client, e1.Namespace, group)); diff != "" {
				t.Errorf("ScimMembership objects: members (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMemberRemoveAfterAddOnOtherReplica: a member added through one replica
// and removed at once through the other is gone (an IdP behind a load
// balancer does exactly this). The second replica's cache may or may not
// have seen the add by then; the removal must hold either way.
func TestMemberRemoveAfterAddOnOtherReplica(t *testing.T) {
	op1 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	op2 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("cross-remove"), "okta")
	e2 := onReplica(t, e1, op2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	users := createUsers(t, ctx, []*testharness.Endpoint{e1, e2}, testharness.UniqueName("flap"), 20)
	group := createGroup(t, ctx, e1, testharness.UniqueName("Contractors"))
	if err := waitServed(ctx, e2, "/Groups/"+group); err != nil {
		t.Fatal(err)
	}
	for _, id := range users {
		if res, err := call(ctx, e2, http.MethodPatch, "/Groups/"+group, memberAdd([]string{id})); err != nil || res.Status >= 300 {
			t.Fatalf("adding %s through replica 2: %d %v: %s", id, res.Status, err, res.Body)
		}
		remove := map[string]any{
			"schemas":    []string{patchOpURN},
			"Operations": []map[string]any{{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", id)}},
		}
		if res, err := call(ctx, e1, http.MethodPatch, "/Groups/"+group, remove); err != nil || res.Status >= 300 {
			t.Fatalf("removing %s through replica 1: %d %v: %s", id, res.Status, err, res.Body)
		}
	}
	if got := storedMembers(t, ctx, op1.Client, e1.Namespace, group); len(got) != 0 {
		t.Errorf("%d of %d members survived their removal: %v", len(got), len(users), got)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// caseVariants returns n spellings of s that differ only in letter case; the
// first is s itself.
func caseVariants(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		b := []byte(s)
		for j, bit := 0, 0; j < len(b) && bit < 16; j++ {
			if b[j] >= 'a' && b[j] <= 'z' {
				if i&(1<<bit) != 0 {
					b[j] -= 'a' - 'A'
				}
				bit++
			}
		}
		out[i] = string(b)
	}
	return out
}

// raceCreates sends POST /Users for each userName at the same moment, request
// i to targets[i%len(targets)].
func raceCreates(t *testing.T, targets []*testharness.Endpoint, userNames []string) []result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		results = make([]result, len(userNames))
		errs    = make([]error, len(userNames))
	)
	for i, name := range userNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = call(ctx, targets[i%len(targets)], http.MethodPost, "/Users", oktaUser(name))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("POST /Users %d: %v", i, err)
		}
	}
	return results
}

// checkOneCreated asserts exactly one 201 and only 409 uniqueness errors
// otherwise; it returns the created id.
func checkOneCreated(t *testing.T, results []result) string {
	t.Helper()
	var ids []string
	for i, r := range results {
		switch r.Status {
		case http.StatusCreated:
			var u struct{ ID string }
			if err := r.decode(&u); err != nil || u.ID == "" {
				t.Fatalf("201 without an id: %v: %s", err, r.Body)
			}
			ids = append(ids, u.ID)
		case http.StatusConflict:
			var e scimError
			if err := r.decode(&e); err != nil {
				t.Fatal(err)
			}
			if e.ScimType != "uniqueness" || e.Status != "409" {
				t.Errorf("request %d: 409 with status %q scimType %q, want \"409\" and uniqueness", i, e.Status, e.ScimType)
			}
		default:
			t.Errorf("request %d answered %d: %s", i, r.Status, r.Body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d creates succeeded (first: %v), want exactly 1", len(ids), ids[:min(len(ids), 3)])
	}
	return ids[0]
}

// checkStoredUser asserts that the API server holds exactly one ScimUser with
// userName (in any case), with the id the client was given.
func checkStoredUser(t *testing.T, c client.Client, e *testharness.Endpoint, userName, id string) {
	t.Helper()
	ctx := context.Background()
	var users scimv1.ScimUserList
	if err := c.List(ctx, &users, client.InNamespace(e.Namespace)); err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, u := range users.Items {
		if strings.EqualFold(u.Spec.UserName, userName) {
			stored = append(stored, u.Name)
		}
	}
	if diff := cmp.Diff([]string{id}, stored); diff != "" {
		t.Errorf("stored ScimUsers named %q (-want +got):\n%s", userName, diff)
	}
	// The winner of a first create is named after its userName, which
	// reserves it without a claim; no claim may name it as holder.
	want := scimstore.UniqueName("User", e.Name, userName)
	for _, u := range users.Items {
		if u.Name == id && (!strings.HasPrefix(id, "user-") || u.Labels[scimv1.LabelDerivedFrom] != want) {
			t.Errorf("created user %s labelled %v, want an id derived from its userName (%s)", id, u.Labels, want)
		}
	}
	var claims scimv1.ScimClaimList
	if err := c.List(ctx, &claims, client.InNamespace(e.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, cl := range claims.Items {
		if cl.Spec.Holder == id {
			t.Errorf("claim %s is held by %s, which holds its userName by name", cl.Name, id)
		}
	}
}

// checkFilterFinds asserts that Okta's pre-create lookup finds exactly the
// created user, polling briefly because another replica's cache may lag.
func checkFilterFinds(t *testing.T, e *testharness.Endpoint, userName, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := "/Users?startIndex=1&count=100&filter=" + url.QueryEscape(fmt.Sprintf("userName eq %q", userName))
	var list struct {
		TotalResults int
		Resources    []struct{ ID string }
	}
	for {
		res, err := call(ctx, e, http.MethodGet, path, nil)
		if err == nil && res.Status == http.StatusOK && res.decode(&list) == nil &&
			list.TotalResults == 1 && len(list.Resources) == 1 && list.Resources[0].ID == id {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s on %s never found exactly %s (last %d %v: %+v)", path, e.BaseURL, id, res.Status, err, list)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// createUsers creates n users through SCIM POST, spread over targets, and
// waits until every target serves all of them.
func createUsers(t *testing.T, ctx context.Context, targets []*testharness.Endpoint, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	err := parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		res, err := call(ctx, targets[i%len(targets)], http.MethodPost, "/Users", oktaUser(fmt.Sprintf("%s-%03d@example.com", prefix, i)))
		if err != nil {
			return err
		}
		var u struct{ ID string }
		if res.Status != http.StatusCreated || res.decode(&u) != nil {
			return fmt.Errorf("POST /Users %d answered %d: %s", i, res.Status, res.Body)
		}
		ids[i] = u.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range targets {
		for _, id := range ids {
			if err := waitServed(ctx, e, "/Users/"+id); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// createGroup creates an empty group through SCIM POST and returns its id.
func createGroup(t testing.TB, ctx context.Context, e *testharness.Endpoint, displayName string) string {
	t.Helper()
	res, err := call(ctx, e, http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": displayName, "members": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	var g groupBody
	if res.Status != http.StatusCreated || res.decode(&g) != nil || g.ID == "" {
		t.Fatalf("POST /Groups answered %d: %s", res.Status, res.Body)
	}
	return g.ID
}

// eventuallyMembers GETs a group until it lists want members or settle has
// passed, and returns its sorted member ids.
func eventuallyMembers(t *testing.T, ctx context.Context, e *testharness.Endpoint, group string, want int, settle time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		res, err := call(ctx, e, http.MethodGet, "/Groups/"+group, nil)
		if err != nil || res.Status != http.StatusOK {
			t.Fatalf("GET /Groups/%s: %d %v: %s", group, res.Status, err, res.Body)
		}
		var g groupBody
		if err := res.decode(&g); err != nil {
			t.Fatal(err)
		}
		if len(g.Members) >= want || time.Now().After(deadline) {
			ids := make([]string, len(g.Members))
			for i, m := range g.Members {
				ids[i] = m.Value
			}
			return sorted(ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedMembers reads a group's ScimMembership shards from the API server,
// checks each member sits in a shard its id's hash leads to at that shard's
// depth (scimstore.ShardCovers) and that split shards were emptied, and
// returns the sorted member ids (duplicates kept, so a test sees them).
func storedMembers(t testing.TB, ctx context.Context, c client.Client, ns, group string) []string {
	t.Helper()
	var shards scimv1.ScimMembershipList
	if err := c.List(ctx, &shards, client.InNamespace(ns), client.MatchingLabels{scimv1.LabelGroup: group}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sh := range shards.Items {
		if sh.Spec.Group != group || sh.Name != scimstore.ShardName(group, sh.Spec.Depth, sh.Spec.Shard) {
			t.Errorf("shard %s claims group %s shard %d", sh.Name, sh.Spec.Group, sh.Spec.Shard)
		}
		if sh.Spec.Split && len(sh.Spec.Members) > 0 {
			t.Errorf("split shard %s still holds %d members", sh.Name, len(sh.Spec.Members))
		}
		for _, m := range sh.Spec.Members {
			if !scimstore.ShardCovers(&sh, m.Value) {
				t.Errorf("member %s is in shard %s, which its hash does not lead to", m.Value, sh.Name)
			}
			if m.Type != "" && m.Type != "User" { // empty means User
				t.Errorf("member %s has type %q, want User", m.Value, m.Type)
			}
			ids = append(ids, m.Value)
		}
	}
	return sorted(ids)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
