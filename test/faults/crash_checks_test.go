package faults

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/testharness"
	"github.com/scim-operator/scim-operator/scimserver"
)

// converge waits until the operator process p has projected exactly the
// users ids (userNames names, all active) and groups, then logs how long
// that took from the process start. Everything is checked against fixed
// expectations, not only against the CRs: the users' rows and memberships,
// the RoleBinding subjects per role, the finalizers, and that nothing is left
// in Terminating.
func (w *crashWorld) converge(t *testing.T, p *operatorProcess, ids, names, groups []string) {
	t.Helper()
	wantUsers := slices.Sorted(slices.Values(ids))
	wantGroups := slices.Sorted(slices.Values(groups))
	wantMembers := map[string][]string{w.crew: wantUsers}
	wantSubjects := map[string][]string{"view": slices.Sorted(slices.Values(names))}
	if slices.Contains(groups, w.doomed) {
		wantMembers[w.doomed] = slices.Sorted(slices.Values(ids[:crashDoomed]))
		wantSubjects["edit"] = slices.Sorted(slices.Values(names[:crashDoomed]))
	}
	check := func() string {
		p.alive(t)
		if held := w.terminating(t); len(held) > 0 {
			return fmt.Sprintf("%d objects in Terminating, e.g. %s", len(held), held[0])
		}
		if d := w.tn.diff(); d != "" {
			return d
		}
		st, err := w.tn.tables()
		if err != nil {
			return err.Error()
		}
		gotUsers := make([]string, len(st.Users))
		for i, u := range st.Users {
			gotUsers[i] = u.ID
		}
		gotGroups := make([]string, len(st.Groups))
		for i, g := range st.Groups {
			gotGroups[i] = g.ID
		}
		if d := cmp.Diff(wantUsers, gotUsers); d != "" {
			return "user rows (-want +got):\n" + d
		}
		if d := cmp.Diff(wantGroups, gotGroups); d != "" {
			return "group rows (-want +got):\n" + d
		}
		if d := cmp.Diff(wantMembers, st.Members); d != "" {
			return "memberships (-want +got):\n" + d
		}
		if n := w.heldUsers(t); n != len(ids) {
			return fmt.Sprintf("%d users hold the tenant finalizer, want all %d", n, len(ids))
		}
		subjects, err := boundSubjects(w.c, w.ns)
		if err != nil {
			return err.Error()
		}
		if d := cmp.Diff(wantSubjects, subjects); d != "" {
			return "RoleBinding subjects by role (-want +got):\n" + d
		}
		return w.tn.conditionIs(scimv1.ConditionReady, metav1.ConditionTrue)
	}
	if problem := testharness.Wait(90*time.Second, check); problem != "" {
		t.Fatalf("not converged 90 s after the restart: %s", problem)
	}
	t.Logf("converged %v after the restart (%v after the election): %d user rows, %d groups, %d RoleBinding subjects, nothing in Terminating",
		time.Since(p.Started).Round(time.Millisecond), time.Since(p.electedAt).Round(time.Millisecond),
		len(wantUsers), len(wantGroups), len(names)+len(wantSubjects["edit"]))
}

// terminating lists the ScimUsers, ScimGroups, ScimMemberships and
// ScimRoleBindings of the world's namespace that carry a deletionTimestamp.
func (w *crashWorld) terminating(t *testing.T) []string {
	t.Helper()
	var out []string
	lists := map[string]client.ObjectList{"ScimUser": &scimv1.ScimUserList{}, "ScimGroup": &scimv1.ScimGroupList{},
		"ScimMembership": &scimv1.ScimMembershipList{}, "ScimRoleBinding": &scimv1.ScimRoleBindingList{}}
	for _, kind := range slices.Sorted(maps.Keys(lists)) {
		l := lists[kind]
		if err := w.c.List(context.Background(), l, client.InNamespace(w.ns)); err != nil {
			t.Fatalf("listing %ss: %v", kind, err)
		}
		objs, err := metaItems(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetDeletionTimestamp() != nil {
				out = append(out, fmt.Sprintf("%s %s (finalizers %v)", kind, o.GetName(), o.GetFinalizers()))
			}
		}
	}
	return out
}

// metaItems returns the items of a list as objects.
func metaItems(l client.ObjectList) ([]client.Object, error) {
	var out []client.Object
	switch l := l.(type) {
	case *scimv1.ScimUserList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *scimv1.ScimGroupList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *scimv1.ScimMembershipList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *scimv1.ScimRoleBindingList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unexpected list %T", l)
	}
	return out, nil
}

// heldUsers counts the users of the namespace that hold the tenant finalizer.
func (w *crashWorld) heldUsers(t *testing.T) int {
	t.Helper()
	var users scimv1.ScimUserList
	if err := w.c.List(context.Background(), &users, client.InNamespace(w.ns)); err != nil {
		t.Fatalf("listing ScimUsers: %v", err)
	}
	n := 0
	for i := range users.Items {
		if controllerutil.ContainsFinalizer(&users.Items[i], tenantapp.FinalizerUsers) {
			n++
		}
	}
	return n
}

// subjectCount counts the User subjects of the namespace's RoleBindings.
func (w *crashWorld) subjectCount(t *testing.T) int {
	t.Helper()
	s, err := boundSubjects(w.c, w.ns)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, names := range s {
		n += len(names)
	}
	return n
}

// crashWorkers is how many SCIM requests the setup sends at once.
const crashWorkers = 8

// parallel runs f(i) for i in [0, n) on crashWorkers goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// createUsers creates n users <prefix>-NNNN@example.com through SCIM and
// returns their ids and userNames, by index.
func createUsers(t *testing.T, e *testharness.Endpoint, prefix string, n int) (ids, names []string) {
	t.Helper()
	ids, names = make([]string, n), make([]string, n)
	var mu sync.Mutex
	var failures []string
	parallel(n, func(i int) {
		names[i] = fmt.Sprintf("%s-%04d@example.com", prefix, i)
		o := do(context.Background(), e, "seed", e.Token, http.MethodPost, "/Users", userBody(names[i], ""))
		if o.status != http.StatusCreated || o.id == "" {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("%s: %d %v %s", names[i], o.status, o.err, snippet(o.body)))
			mu.Unlock()
		}
		ids[i] = o.id
	})
	if len(failures) > 0 {
		t.Fatalf("%d users not created, e.g. %s", len(failures), failures[0])
	}
	return ids, names
}

// mustCreateGroup creates a group with members through SCIM and returns its id.
func mustCreateGroup(t *testing.T, e *testharness.Endpoint, name string, members ...string) string {
	t.Helper()
	r := e.Do(t, http.MethodPost, "/Groups", groupBody(name, members...))
	id, _ := r.JSON(t)["id"].(string)
	if r.Status != http.StatusCreated || id == "" {
		t.Fatalf("POST /Groups %s: %d %s", name, r.Status, snippet(r.Body))
	}
	return id
}

// deleteResources sends DELETE for each path through SCIM, several at once,
// and requires 204 for each.
func deleteResources(t *testing.T, e *testharness.Endpoint, paths ...string) {
	t.Helper()
	var mu sync.Mutex
	var failures []string
	parallel(len(paths), func(i int) {
		o := do(context.Background(), e, "delete", e.Token, http.MethodDelete, paths[i], nil)
		if o.status != http.StatusNoContent {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("DELETE %s: %d %v %s", paths[i], o.status, o.err, snippet(o.body)))
			mu.Unlock()
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d deletions failed, e.g. %s", len(failures), failures[0])
	}
}

// roleBinding is a ScimRoleBinding of endpoint "idp" granting ClusterRole
// role to the members of group (a displayName).
func roleBinding(ns, name, group, role string) *scimv1.ScimRoleBinding {
	return &scimv1.ScimRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "idp", Group: scimv1.GroupReference{DisplayName: group},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: role}},
	}
}

// scimPath is the path prefix of e's SCIM API.
func scimPath(e *testharness.Endpoint) string {
	return scimserver.PathPrefix + e.Namespace + "/" + e.Name
}

// leaseHolder is the identity the test holds an operator Lease under, so
// that operator processes serve SCIM without reconciling.
const leaseHolder = "faults-test"

// holdLease makes the test the holder of the Lease id in namespace default,
// for an hour, whoever held it before.
func holdLease(t *testing.T, c client.Client, id string) {
	t.Helper()
	ctx := context.Background()
	now := metav1.NewMicroTime(time.Now())
	spec := coordinationv1.LeaseSpec{HolderIdentity: ptr.To(leaseHolder), LeaseDurationSeconds: ptr.To[int32](3600),
		AcquireTime: &now, RenewTime: &now}
	var lease coordinationv1.Lease
	err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: id}, &lease)
	switch {
	case apierrors.IsNotFound(err):
		lease = coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: id}, Spec: spec}
		err = c.Create(ctx, &lease)
	case err == nil:
		lease.Spec = spec
		err = c.Update(ctx, &lease)
	}
	if err != nil {
		t.Fatalf("holding Lease %s: %v", id, err)
	}
}

// releaseLease deletes the Lease id: the next candidate creates it and leads.
func releaseLease(t *testing.T, c client.Client, id string) {
	t.Helper()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: id}}
	if err := c.Delete(context.Background(), lease); client.IgnoreNotFound(err) != nil {
		t.Fatalf("releasing Lease %s: %v", id, err)
	}
}
