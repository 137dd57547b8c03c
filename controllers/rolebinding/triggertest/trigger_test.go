// Package triggertest runs the RBAC projection in a manager of its own whose
// client can hold a binding's status write: what a busy API server or a slow
// informer does to the window between a pass reading a group's members and
// the pass's pin (status.groupID) reaching the cache. The projection must
// not lose a membership change made in that window.
package triggertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

var k8s client.Client

const settle = 30 * time.Second

// gate holds the status write of one binding until released.
var gate struct {
	sync.Mutex
	key     types.NamespacedName
	reached chan struct{}
	release chan struct{}
}

func hold(key types.NamespacedName) (reached, release chan struct{}) {
	gate.Lock()
	defer gate.Unlock()
	gate.key, gate.reached, gate.release = key, make(chan struct{}), make(chan struct{})
	return gate.reached, gate.release
}

func TestMain(m *testing.M) {
	logs := io.Discard
	if os.Getenv("SCIM_TEST_LOG") != "" {
		logs = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))
	os.Exit(testharness.WithControlPlane(func(cp *controlplane.ControlPlane) int {
		var err error
		if k8s, err = cp.Client(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		allowed, err := rolebinding.ParseAllowList(rolebinding.DefaultAllowedRoles)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_, stop, err := testharness.StartManager(cp, func(mgr manager.Manager) error {
			c := interceptor.NewClient(noWatch{mgr.GetClient()}, interceptor.Funcs{
				SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
					gate.Lock()
					key, reached, release := gate.key, gate.reached, gate.release
					if _, ok := obj.(*scimv1.ScimRoleBinding); ok && client.ObjectKeyFromObject(obj) == key && reached != nil {
						gate.reached, gate.release, gate.key = nil, nil, types.NamespacedName{}
						gate.Unlock()
						close(reached)
						<-release
					} else {
						gate.Unlock()
					}
					return c.SubResource(sub).Update(ctx, obj, opts...)
				},
			})
			guard := &deprovision.Guard{
				Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
				Recorder: mgr.GetEventRecorder("scim-operator"),
				Users:    deprovision.CachedUsers(mgr.GetClient()),
			}
			return (&rolebinding.Reconciler{
				Client: c, APIReader: mgr.GetAPIReader(),
				Recorder: mgr.GetEventRecorder("scim-operator"), AllowedRoles: allowed, Guard: guard,
			}).SetupWithManager(mgr)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the manager:", err)
			return 1
		}
		defer stop()
		return m.Run()
	}))
}

// noWatch lets the interceptor wrap the manager's client, which does not watch.
type noWatch struct{ client.Client }

func (noWatch) Watch(context.Context, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
	return nil, fmt.Errorf("not supported")
}

// stamp does what the SCIM server does after every membership change
// (scimstore touchGroup): a merge patch of the group's lastModified.
func stamp(t *testing.T, g *scimv1.ScimGroup) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, scimv1.AnnotationLastModified, scimv1.Stamp())
	if err := k8s.Patch(context.Background(), &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: g.Namespace, Name: g.Name}},
		client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("stamping ScimGroup %s: %v", g.Name, err)
	}
}

// TestMemberRemovedBeforePinReachesCacheIsRevoked: an administrator points a
// binding at another group (spec.group.displayName). The pass that follows
// grants the new group's members; until its status (the pin to the new
// group's id) reaches the cache, the binding is indexed only under the
// group's name and its old id, so a ScimMembership event of the new group
// finds no binding. The SCIM server's lastModified stamp on the group, which
// follows every membership change and is mapped by the group's name too,
// was what brought the binding back. A member removed from the group in
// that window must still lose the role.
func TestMemberRemovedBeforePinReachesCacheIsRevoked(t *testing.T) {
	ns, gb, uid, release := repointWhileThePinIsHeld(t)
	// The IdP removes bob from team-b while the pin is on its way.
	testharness.SetMembers(t, k8s, gb, "alice")
	stamp(t, gb)
	time.Sleep(2 * time.Second) // the events are handled while the status write is held
	release()
	testharness.WantBoundSubjects(t, k8s, 15*time.Second, uid, ns, "alice@example.com")
}

// TestMemberDeactivatedBeforePinReachesCacheIsRevoked: as above, but the IdP
// deactivates bob (a ScimUser event, mapped through his groups) instead of
// removing him from the group.
func TestMemberDeactivatedBeforePinReachesCacheIsRevoked(t *testing.T) {
	ns, _, uid, release := repointWhileThePinIsHeld(t)
	testharness.EditUser(t, k8s, client.ObjectKey{Namespace: ns, Name: "bob"}, func(u *scimv1.ScimUser) { u.Spec.Active = false })
	time.Sleep(2 * time.Second) // the events are handled while the status write is held
	release()
	testharness.WantBoundSubjects(t, k8s, 15*time.Second, uid, ns, "alice@example.com")
}

// repointWhileThePinIsHeld binds team-a (alice), points the binding at
// team-b (alice and bob), waits until both are bound by the pass that found
// team-b by name, and holds that pass's status write (the pin to g-b) until
// release is called. It returns the namespace, team-b and the binding's UID.
func repointWhileThePinIsHeld(t *testing.T) (ns string, gb *scimv1.ScimGroup, uid string, release func()) {
	t.Helper()
	ctx := context.Background()
	ns = testharness.SeedNamespace(t, k8s)
	testharness.SeedEndpoint(t, k8s, ns, "okta")
	for _, id := range []string{"alice", "bob"} {
		testharness.SeedUser(t, k8s, ns, "okta", id, id+"@example.com", true)
	}
	testharness.SeedGroup(t, k8s, ns, "okta", "g-a", "team-a", "alice")
	gb = testharness.SeedGroup(t, k8s, ns, "okta", "g-b", "team-b", "alice", "bob")
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "team-a"},
			RoleRef:  scimv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			Subjects: scimv1.Subjects{Kind: scimv1.SubjectUser, UserAttribute: scimv1.UserAttributeUserName}}}
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	uid = string(b.UID)
	testharness.WantBoundSubjects(t, k8s, settle, uid, ns, "alice@example.com")
	testharness.Eventually(t, settle, func() string {
		var cur scimv1.ScimRoleBinding
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
			return err.Error()
		}
		return testharness.Unless(cur.Status.GroupID == "g-a" && cur.Status.ObservedGeneration == cur.Generation,
			"the binding is pinned to g-a", cur.Status.GroupID)
	})

	reached, held := hold(client.ObjectKeyFromObject(b))
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	var cur scimv1.ScimRoleBinding
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Group.DisplayName = "team-b"
	if err := k8s.Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(settle):
		t.Fatal("the pass after the spec change never wrote its status")
	}
	testharness.WantBoundSubjects(t, k8s, settle, uid, ns, "alice@example.com", "bob@example.com")
	return ns, gb, uid, release
}
