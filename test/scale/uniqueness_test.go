package scale

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/scimstore"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestUniqueIDsAreNeverReassigned walks a userName through the lives where a
// create cannot use the id derived from it (internal/scimstore/unique.go): the
// derived id retired by a delete, or held by a user renamed away from the
// value. Requests alternate between two replicas.
func TestUniqueIDsAreNeverReassigned(t *testing.T) {
	op1, op2 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true}), testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("unique-ids"), "okta")
	e2 := onReplica(t, e1, op2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The value's own name: its claims are named so, and a user created
	// under a name derived from it (and the id epoch) carries it as a label.
	derived := scimstore.UniqueName("User", e1.Name, "ada@example.com")

	first := mustCreate(t, ctx, e1, "ada@example.com")
	var u scimv1.ScimUser
	if err := op1.Client.Get(ctx, types.NamespacedName{Namespace: e1.Namespace, Name: first}, &u); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "user-") || u.Labels[scimv1.LabelDerivedFrom] != derived {
		t.Fatalf("first create got id %s labelled %v, want an id derived from %s", first, u.Labels, derived)
	}
	mustStatus(t, ctx, e2, http.MethodDelete, "/Users/"+first, nil, http.StatusNoContent)

	// The derived id is retired: the next ada gets a fresh id, and the
	// old id stays unknown (an IdP still holding it must not reach her).
	second := mustCreate(t, ctx, e1, "ADA@example.com")
	if second == first {
		t.Fatalf("re-created user got the deleted user's id %s", first)
	}
	mustStatus(t, ctx, e1, http.MethodGet, "/Users/"+first, nil, http.StatusNotFound)
	if tomb := storedClaim(t, ctx, op1.Client, e1.Namespace, first); !tomb.Spec.Retired || tomb.Spec.RetiredAt == nil || tomb.Spec.Holder != "" {
		t.Errorf("tombstone %s: %+v; want retired, dated and held by nobody", first, tomb.Spec)
	}
	if claim := storedClaim(t, ctx, op1.Client, e1.Namespace, derived); claim.Spec.Retired || claim.Spec.Holder != second {
		t.Errorf("claim %s: retired %v, holder %q; want a claim held by %s", derived, claim.Spec.Retired, claim.Spec.Holder, second)
	}
	mustConflict(t, ctx, e1, "ada@example.com")

	// Renamed away, second gives up its claim and the value is free
	// again; the tombstone of the first id stays; the renamed user holds
	// its new value by claim.
	mustStatus(t, ctx, e1, http.MethodPatch, "/Users/"+second, renameTo("ada.byron@example.com"), http.StatusOK)
	if err := op1.Client.Get(ctx, types.NamespacedName{Namespace: e1.Namespace, Name: derived}, &scimv1.ScimClaim{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the rename, claim %s: %v; want it released", derived, err)
	}
	if c := storedClaim(t, ctx, op1.Client, e1.Namespace, first); !c.Spec.Retired || c.Spec.Holder != "" {
		t.Errorf("after the rename, tombstone %s: retired %v, holder %q; want a tombstone with no holder", first, c.Spec.Retired, c.Spec.Holder)
	}
	mustConflict(t, ctx, e2, "Ada.Byron@example.com")
	third := mustCreate(t, ctx, e2, "ada@example.com")
	if third == first || third == second {
		t.Fatalf("third ada got a used id %s", third)
	}

	// A user named after a value keeps that name when renamed: the value
	// is then free, and its next holder needs a random id and a claim.
	grace := mustCreate(t, ctx, e1, "grace@example.com")
	mustStatus(t, ctx, e2, http.MethodPatch, "/Users/"+grace, renameTo("grace.hopper@example.com"), http.StatusOK)
	other := mustCreate(t, ctx, e1, "grace@example.com")
	if other == grace {
		t.Fatalf("the new grace got the renamed user's id %s", grace)
	}
	// Renaming back onto a value someone else holds is refused, even for
	// the user named after it.
	r := mustStatus(t, ctx, e2, http.MethodPatch, "/Users/"+grace, renameTo("GRACE@example.com"), http.StatusConflict)
	checkUniquenessError(t, r)
	// Nobody can be renamed onto a value held by a claim, or held by the
	// name of a user created with it (no claim exists for that one).
	r = mustStatus(t, ctx, e1, http.MethodPatch, "/Users/"+third, renameTo("grace.hopper@example.com"), http.StatusConflict)
	checkUniquenessError(t, r)
	mustCreate(t, ctx, e2, "linus@example.com")
	r = mustStatus(t, ctx, e1, http.MethodPatch, "/Users/"+third, renameTo("Linus@example.com"), http.StatusConflict)
	checkUniquenessError(t, r)

	// Groups follow the same rules by displayName.
	g1 := mustCreateGroup(t, ctx, e1, "Engineering")
	mustStatus(t, ctx, e2, http.MethodDelete, "/Groups/"+g1, nil, http.StatusNoContent)
	if g2 := mustCreateGroup(t, ctx, e2, "engineering"); g2 == g1 {
		t.Fatalf("re-created group got the deleted group's id %s", g1)
	}
}

// TestRetiredAfterRestart: a replica started after a delete knows the
// deleted user's id is retired from the tombstone claim alone (it never saw
// the delete), and the next create of the userName gets a fresh id.
func TestRetiredAfterRestart(t *testing.T) {
	op1 := testharness.RunOperator(t, cp, testharness.Options{})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("retired-restart"), "okta")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := mustCreate(t, ctx, e1, "barbara@example.com")
	mustStatus(t, ctx, e1, http.MethodDelete, "/Users/"+first, nil, http.StatusNoContent)
	op2 := testharness.RunOperator(t, cp, testharness.Options{})
	e2 := onReplica(t, e1, op2)
	if second := mustCreate(t, ctx, e2, "barbara@example.com"); second == first {
		t.Fatalf("a restarted replica gave the deleted user's id %s to the next one", first)
	}
}

// TestRetiredValueRace: 50 creates of a userName whose derived id is retired
// (so every create takes the claim path), split over two replicas, make
// exactly one user.
func TestRetiredValueRace(t *testing.T) {
	op1, op2 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true}), testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("retired-race"), "okta")
	e2 := onReplica(t, e1, op2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := mustCreate(t, ctx, e1, "linus@example.com")
	mustStatus(t, ctx, e1, http.MethodDelete, "/Users/"+first, nil, http.StatusNoContent)

	results := raceCreates(t, []*testharness.Endpoint{e1, e2}, caseVariants("linus@example.com", 50))
	id := checkOneCreated(t, results)
	if id == first {
		t.Fatalf("the race winner got the deleted user's id %s", id)
	}
	checkFilterFinds(t, e2, "LINUS@example.com", id)
}

// TestRenameRacesCreate: a PATCH renaming a user to a value races a POST of
// that value, on two replicas, 60 times. At most one of them may succeed (both
// may be refused when each sees the other), and no value ends up held twice.
func TestRenameRacesCreate(t *testing.T) {
	op1, op2 := testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true}), testharness.RunOperator(t, cp, testharness.Options{LeaderElection: true})
	e1 := op1.NewEndpoint(t, testharness.UniqueName("rename-race"), "okta")
	e2 := onReplica(t, e1, op2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	won := map[string]int{}
	const rounds = 60
	for i := range rounds {
		from, to := fmt.Sprintf("from-%d@example.com", i), fmt.Sprintf("to-%d@example.com", i)
		id := mustCreate(t, ctx, e1, from)
		var (
			wg             sync.WaitGroup
			rename, create result
			errR, errC     error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			rename, errR = call(ctx, e1, http.MethodPatch, "/Users/"+id, renameTo(to))
		}()
		go func() {
			defer wg.Done()
			// Staggered by 0-9 ms, so that some creates land between
			// the rename's checks and its write.
			time.Sleep(time.Duration(i%10) * time.Millisecond)
			create, errC = call(ctx, e2, http.MethodPost, "/Users", oktaUser(to))
		}()
		wg.Wait()
		if errR != nil || errC != nil {
			t.Fatalf("round %d: %v %v", i, errR, errC)
		}
		okR, okC := rename.Status == http.StatusOK, create.Status == http.StatusCreated
		for _, r := range []result{rename, create} {
			if r.Status != http.StatusOK && r.Status != http.StatusCreated {
				checkUniquenessError(t, r)
			}
		}
		if okR && okC {
			t.Fatalf("round %d: both the rename and the create of %s succeeded", i, to)
		}
		switch {
		case okR:
			won["rename"]++
		case okC:
			won["create"]++
		default:
			won["neither"]++
		}
		var users scimv1.ScimUserList
		if err := op1.Client.List(ctx, &users, client.InNamespace(e1.Namespace)); err != nil {
			t.Fatal(err)
		}
		holders := 0
		for _, u := range users.Items {
			if u.DeletionTimestamp.IsZero() && u.Spec.UserName == to {
				holders++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[okR || okC]; holders != want {
			t.Fatalf("round %d: %d live users hold %s, want %d", i, holders, to, want)
		}
	}
	t.Logf("outcomes over %d rounds: %v", rounds, won)
}

func renameTo(userName string) map[string]any {
	return map[string]any{
		"schemas":    []string{patchOpURN},
		"Operations": []map[string]any{{"op": "replace", "path": "userName", "value": userName}},
	}
}

func mustStatus(t *testing.T, ctx context.Context, e *testharness.Endpoint, method, path string, body any, want int) result {
	t.Helper()
	r, err := call(ctx, e, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("%s %s answered %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

func mustCreate(t *testing.T, ctx context.Context, e *testharness.Endpoint, userName string) string {
	t.Helper()
	var u struct{ ID string }
	if err := mustStatus(t, ctx, e, http.MethodPost, "/Users", oktaUser(userName), http.StatusCreated).decode(&u); err != nil || u.ID == "" {
		t.Fatalf("POST /Users %s: no id (%v)", userName, err)
	}
	return u.ID
}

func mustCreateGroup(t *testing.T, ctx context.Context, e *testharness.Endpoint, displayName string) string {
	t.Helper()
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": displayName, "members": []any{}}
	var g groupBody
	if err := mustStatus(t, ctx, e, http.MethodPost, "/Groups", body, http.StatusCreated).decode(&g); err != nil || g.ID == "" {
		t.Fatalf("POST /Groups %s: no id (%v)", displayName, err)
	}
	return g.ID
}

func mustConflict(t *testing.T, ctx context.Context, e *testharness.Endpoint, userName string) {
	t.Helper()
	checkUniquenessError(t, mustStatus(t, ctx, e, http.MethodPost, "/Users", oktaUser(userName), http.StatusConflict))
}

func checkUniquenessError(t *testing.T, r result) {
	t.Helper()
	var e scimError
	if err := r.decode(&e); err != nil {
		t.Fatal(err)
	}
	if e.Status != "409" || e.ScimType != "uniqueness" {
		t.Errorf("answer %d with status %q scimType %q, want 409 uniqueness: %s", r.Status, e.Status, e.ScimType, r.Body)
	}
}

func storedClaim(t *testing.T, ctx context.Context, c client.Client, ns, name string) *scimv1.ScimClaim {
	t.Helper()
	var cl scimv1.ScimClaim
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &cl); err != nil {
		t.Fatalf("reading ScimClaim %s: %v", name, err)
	}
	return &cl
}
