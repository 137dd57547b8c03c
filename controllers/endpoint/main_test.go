package endpoint_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/endpoint"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/deprovision"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// The suite runs one control plane and one manager with the shared indexes
// and the ScimEndpoint reconciler only: no SCIM server, no projections. Tests
// seed ScimUsers, ScimGroups, Secrets and ScimEndpoints with the client, each
// in its own namespace.
var (
	// k8s is an uncached client: what a test reads is what the API server holds.
	k8s client.Client
	// cached is the manager's client, whose cache the reconciler lists from.
	cached client.Client
	// guard is the reconciler's deprovisioning guard; tests call Admit on it
	// the way a projection does.
	guard *deprovision.Guard
)

// settle bounds every wait for the reconciler. It is shorter than the
// reconciler's periodic refresh (30 s), so a change seen within it was
// brought by a watch event.
const settle = 10 * time.Second

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	logs := io.Discard
	if os.Getenv("SCIM_TEST_LOG") != "" {
		logs = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true)))
	cp, err := controlplane.Start(controlplane.Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		fmt.Fprintln(os.Stderr, "control plane:", err)
		return 1
	}
	defer func() { _ = cp.Stop() }()
	if k8s, err = cp.Client(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stop, err := startManager(cp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the manager:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// startManager wires the ScimEndpoint reconciler and its guard the way
// internal/operator does, and starts the manager.
func startManager(cp *controlplane.ControlPlane) (stop func(), err error) {
	_, stop, err = testharness.StartManager(cp, func(mgr manager.Manager) error {
		cached = mgr.GetClient()
		guard = &deprovision.Guard{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("scim-operator"),
			Users:    deprovision.CachedUsers(mgr.GetClient()),
		}
		return (&endpoint.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(),
			Recorder: mgr.GetEventRecorder("scim-operator"), Guard: guard,
		}).SetupWithManager(mgr)
	})
	return stop, err
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ep-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	return ns.Name
}

// newToken returns a token as `openssl rand -hex 32` makes one.
func newToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// tokenSecret creates Secret ns/name holding value under key "token",
// labelled as a token Secret when labelled.
func tokenSecret(t *testing.T, ns, name, value string, labelled bool) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data: map[string][]byte{"token": []byte(value)}}
	if labelled {
		s.Labels = map[string]string{scimv1.LabelTokenSecret: "true"}
	}
	if err := k8s.Create(context.Background(), s); err != nil {
		t.Fatalf("creating Secret %s/%s: %v", ns, name, err)
	}
	return s
}

// newEndpoint creates ScimEndpoint ns/name referencing key "token" of the
// Secrets named.
func newEndpoint(t *testing.T, ns, name string, secrets []string, mutate ...func(*scimv1.ScimEndpoint)) types.NamespacedName {
	t.Helper()
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, s := range secrets {
		ep.Spec.TokenSecretRefs = append(ep.Spec.TokenSecretRefs, scimv1.SecretKeyReference{Name: s, Key: "token"})
	}
	for _, m := range mutate {
		m(ep)
	}
	if err := k8s.Create(context.Background(), ep); err != nil {
		t.Fatalf("creating ScimEndpoint %s/%s: %v", ns, name, err)
	}
	return client.ObjectKeyFromObject(ep)
}

// patchEndpoint applies change to the live endpoint with a merge patch.
func patchEndpoint(t *testing.T, key types.NamespacedName, change func(*scimv1.ScimEndpoint)) {
	t.Helper()
	var ep scimv1.ScimEndpoint
	if err := k8s.Get(context.Background(), key, &ep); err != nil {
		t.Fatal(err)
	}
	base := ep.DeepCopy()
	change(&ep)
	if err := k8s.Patch(context.Background(), &ep, client.MergeFrom(base)); err != nil {
		t.Fatalf("patching ScimEndpoint %s: %v", key, err)
	}
}

// waitEndpoint polls the live endpoint until cond holds, failing the test
// after settle with the last state cond described. It is a wait, not a
// timing assertion.
func waitEndpoint(t *testing.T, key types.NamespacedName, what string, cond func(*scimv1.ScimEndpoint) (bool, string)) *scimv1.ScimEndpoint {
	t.Helper()
	return waitEndpointFor(t, key, settle, what, cond)
}

func waitEndpointFor(t *testing.T, key types.NamespacedName, limit time.Duration, what string, cond func(*scimv1.ScimEndpoint) (bool, string)) *scimv1.ScimEndpoint {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := "never read"
	for {
		var ep scimv1.ScimEndpoint
		if err := k8s.Get(context.Background(), key, &ep); err != nil {
			last = err.Error()
		} else {
			ok, state := cond(&ep)
			if ok {
				return &ep
			}
			last = state
		}
		if time.Now().After(deadline) {
			t.Fatalf("ScimEndpoint %s: %s: not within %s; last: %s", key, what, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready describes the Ready condition and the token count.
func ready(ep *scimv1.ScimEndpoint) string {
	c := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionReady)
	if c == nil {
		return fmt.Sprintf("validTokens=%d, no Ready condition", ep.Status.ValidTokens)
	}
	return fmt.Sprintf("validTokens=%d Ready=%s/%s gen=%d: %s", ep.Status.ValidTokens, c.Status, c.Reason, c.ObservedGeneration, c.Message)
}

// isReady reports whether Ready has this status and reason at the endpoint's
// generation, with want valid tokens.
func isReady(status metav1.ConditionStatus, reason string, valid int32) func(*scimv1.ScimEndpoint) (bool, string) {
	return func(ep *scimv1.ScimEndpoint) (bool, string) {
		c := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionReady)
		return c != nil && c.Status == status && c.Reason == reason && c.ObservedGeneration == ep.Generation &&
			ep.Status.ValidTokens == valid, ready(ep)
	}
}

// quiesce lets the reconciles that the endpoint's own writes triggered run
// out, so that the next change a test waits for can only come from the event
// the test causes. It never makes a test pass: it only keeps a broken watch
// from being hidden by a reconcile that was already queued.
func quiesce() { time.Sleep(time.Second) }

// waitEvent waits for an Event about endpoint key with this type and reason.
func waitEvent(t *testing.T, key types.NamespacedName, kind, reason string) eventsv1.Event {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(key.Namespace)); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Kind != "ScimEndpoint" || e.Regarding.Name != key.Name {
				continue
			}
			if e.Type == kind && e.Reason == reason {
				return e
			}
			seen = append(seen, e.Type+"/"+e.Reason)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ScimEndpoint %s: no %s Event %s within %s; seen: %v", key, kind, reason, settle, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
