package endpoint_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/endpoint"
	"github.com/scim-operator/scim-operator/internal/scimstore"
)

const (
	notOptedIn = "does not exist or its Secret is not labelled " + scimv1.LabelTokenSecret + "=true"
	tooWeak    = "holds a token of under 128 bits of entropy"
	whitespace = "holds whitespace inside the token"
)

// TestTokens: status.path, status.validTokens and the Ready condition of an
// endpoint for each shape of its token Secrets.
func TestTokens(t *testing.T) {
	ns := newNamespace(t)
	good := newToken(t)
	tokenSecret(t, ns, "good", good, true)
	tokenSecret(t, ns, "good-newline", newToken(t)+"\n", true)
	tokenSecret(t, ns, "unlabelled", newToken(t), false)
	labelledFalse := tokenSecret(t, ns, "labelled-false", newToken(t), false)
	labelledFalse.Labels = map[string]string{scimv1.LabelTokenSecret: "false"}
	if err := k8s.Update(context.Background(), labelledFalse); err != nil {
		t.Fatal(err)
	}
	tokenSecret(t, ns, "weak", "password1234", true)
	tokenSecret(t, ns, "spaced", good[:32]+" "+good[32:], true)

	for i, tc := range []struct {
		reason   string
		secrets  []string
		valid    int32
		status   metav1.ConditionStatus
		cause    string
		mentions []string
	}{
		{"a Secret that does not exist gives no token", []string{"missing"},
			0, metav1.ConditionFalse, endpoint.ReasonNoValidTokens, []string{"missing/token " + notOptedIn}},
		{"a Secret without the opt-in label gives no token", []string{"unlabelled"},
			0, metav1.ConditionFalse, endpoint.ReasonNoValidTokens, []string{"unlabelled/token " + notOptedIn}},
		{"a Secret labelled other than true gives no token", []string{"labelled-false"},
			0, metav1.ConditionFalse, endpoint.ReasonNoValidTokens, []string{"labelled-false/token " + notOptedIn}},
		{"a weak token is refused", []string{"weak"},
			0, metav1.ConditionFalse, endpoint.ReasonNoValidTokens, []string{"weak/token " + tooWeak}},
		{"a token with whitespace inside is refused", []string{"spaced"},
			0, metav1.ConditionFalse, endpoint.ReasonNoValidTokens, []string{"spaced/token " + whitespace}},
		{"a good token serves", []string{"good"},
			1, metav1.ConditionTrue, endpoint.ReasonServing, []string{"with 1 valid token(s)"}},
		{"a trailing newline is trimmed", []string{"good-newline"},
			1, metav1.ConditionTrue, endpoint.ReasonServing, []string{"with 1 valid token(s)"}},
		{"good tokens are counted and the others named", []string{"good", "weak", "good-newline", "unlabelled"},
			2, metav1.ConditionTrue, endpoint.ReasonServing,
			[]string{"with 2 valid token(s)", "ignored: weak/token " + tooWeak + " (", "; unlabelled/token " + notOptedIn}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			name := fmt.Sprintf("tokens-%d", i)
			key := newEndpoint(t, ns, name, tc.secrets)
			ep := waitEndpoint(t, key, "Ready "+string(tc.status)+"/"+tc.cause, isReady(tc.status, tc.cause, tc.valid))
			if want := "/scim/v2/" + ns + "/" + name; ep.Status.Path != want {
				t.Errorf("status.path = %q, want %q", ep.Status.Path, want)
			}
			msg := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionReady).Message
			for _, m := range tc.mentions {
				if !strings.Contains(msg, m) {
					t.Errorf("Ready message %q does not mention %q", msg, m)
				}
			}
			if strings.Contains(msg, good) {
				t.Errorf("Ready message shows a token: %q", msg)
			}
		})
	}
}

// TestTokenSecretAfterEndpoint: a token Secret created, changed, labelled,
// unlabelled or deleted after its endpoint moves the endpoint's status. Only
// the Secret watch (through the IndexTokenSecret index) brings these changes
// within settle; the periodic refresh would take 30 s.
func TestTokenSecretAfterEndpoint(t *testing.T) {
	ns := newNamespace(t)
	key := newEndpoint(t, ns, "late", []string{"late-token"})
	waitEndpoint(t, key, "no token yet", isReady(metav1.ConditionFalse, endpoint.ReasonNoValidTokens, 0))
	mentions := func(text string) func(*scimv1.ScimEndpoint) (bool, string) {
		return func(ep *scimv1.ScimEndpoint) (bool, string) {
			ok, state := isReady(metav1.ConditionFalse, endpoint.ReasonNoValidTokens, 0)(ep)
			return ok && strings.Contains(state, "late-token/token "+text), state
		}
	}
	ctx := context.Background()
	secret := &corev1.Secret{}
	update := func(change func(*corev1.Secret)) {
		t.Helper()
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "late-token"}, secret); err != nil {
			t.Fatal(err)
		}
		change(secret)
		if err := k8s.Update(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}

	quiesce()
	secret = tokenSecret(t, ns, "late-token", newToken(t), true)
	waitEndpoint(t, key, "a labelled Secret created after the endpoint serves", isReady(metav1.ConditionTrue, endpoint.ReasonServing, 1))

	quiesce()
	update(func(s *corev1.Secret) { s.Data["token"] = []byte("password1234") })
	waitEndpoint(t, key, "a token changed to a weak one is refused", mentions(tooWeak))

	quiesce()
	update(func(s *corev1.Secret) {
		s.Data["token"] = []byte(newToken(t))
		delete(s.Labels, scimv1.LabelTokenSecret)
	})
	waitEndpoint(t, key, "a Secret whose label is removed gives no token", mentions(notOptedIn))

	quiesce()
	update(func(s *corev1.Secret) { s.Labels = map[string]string{scimv1.LabelTokenSecret: "true"} })
	waitEndpoint(t, key, "a Secret labelled after the endpoint serves", isReady(metav1.ConditionTrue, endpoint.ReasonServing, 1))

	quiesce()
	if err := k8s.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	waitEndpoint(t, key, "a deleted Secret gives no token", mentions(notOptedIn))
}

// TestCounts: status.users and status.groups count the endpoint's own
// ScimUsers and ScimGroups (not another endpoint's, not another namespace's),
// and follow them through the periodic refresh.
func TestCounts(t *testing.T) {
	ns, other := newNamespace(t), newNamespace(t)
	tokenSecret(t, ns, "token", newToken(t), true)
	for i := range 3 {
		seedUser(t, ns, "idp", fmt.Sprintf("u%d", i))
	}
	seedUser(t, ns, "other-idp", "x0")
	seedUser(t, other, "idp", "y0")
	seedUser(t, other, "idp", "y1")
	for i := range 2 {
		seedGroup(t, ns, "idp", fmt.Sprintf("g%d", i))
	}
	seedGroup(t, ns, "other-idp", "x1")
	seedGroup(t, other, "idp", "y2")
	// The reconciler counts from the cache: start from a cache that holds
	// the seeded objects.
	waitCached(t, ns, "idp", 3, 2)

	key := newEndpoint(t, ns, "idp", []string{"token"})
	waitEndpoint(t, key, "3 users, 2 groups", counts(3, 2))

	var gone scimv1.ScimUser
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "u0"}, &gone); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(context.Background(), &gone); err != nil {
		t.Fatal(err)
	}
	seedGroup(t, ns, "idp", "g2")
	seedGroup(t, ns, "idp", "g3")
	// Users and groups are not watched: the counts follow at the next
	// periodic refresh (every 30 s).
	waitEndpointFor(t, key, 45*time.Second, "2 users, 4 groups after the refresh", counts(2, 4))
}

func counts(users, groups int32) func(*scimv1.ScimEndpoint) (bool, string) {
	return func(ep *scimv1.ScimEndpoint) (bool, string) {
		return ep.Status.Users == users && ep.Status.Groups == groups,
			fmt.Sprintf("users=%d groups=%d", ep.Status.Users, ep.Status.Groups)
	}
}

func seedUser(t *testing.T, ns, endpointName, name string) {
	t.Helper()
	u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimUserSpec{Endpoint: endpointName, UserName: name + "@example.com", Active: true}}
	if err := k8s.Create(context.Background(), u); err != nil {
		t.Fatalf("creating ScimUser %s/%s: %v", ns, name, err)
	}
}

func seedGroup(t *testing.T, ns, endpointName, name string) {
	t.Helper()
	g := &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimGroupSpec{Endpoint: endpointName, DisplayName: name}}
	if err := k8s.Create(context.Background(), g); err != nil {
		t.Fatalf("creating ScimGroup %s/%s: %v", ns, name, err)
	}
}

// waitCached waits until the manager's cache lists users and groups of the
// endpoint.
func waitCached(t *testing.T, ns, endpointName string, users, groups int) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		var ul scimv1.ScimUserList
		var gl scimv1.ScimGroupList
		ctx := context.Background()
		if err := cached.List(ctx, &ul, client.InNamespace(ns), client.MatchingFields{scimstore.IndexUserEndpoint: endpointName}); err != nil {
			t.Fatal(err)
		}
		if err := cached.List(ctx, &gl, client.InNamespace(ns), client.MatchingFields{scimstore.IndexGroupEndpoint: endpointName}); err != nil {
			t.Fatal(err)
		}
		if len(ul.Items) == users && len(gl.Items) == groups {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache lists %d users and %d groups of %s/%s, want %d and %d",
				len(ul.Items), len(gl.Items), ns, endpointName, users, groups)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUserNamePattern: an endpoint whose userNamePattern does not compile is
// not Ready, whatever its tokens; fixing the pattern makes it Ready.
func TestUserNamePattern(t *testing.T) {
	ns := newNamespace(t)
	tokenSecret(t, ns, "token", newToken(t), true)
	for i, tc := range []struct {
		reason  string
		pattern string
		status  metav1.ConditionStatus
		cause   string
	}{
		{"no pattern", "", metav1.ConditionTrue, endpoint.ReasonServing},
		{"a valid pattern", `[^@]+@example\.com`, metav1.ConditionTrue, endpoint.ReasonServing},
		{"an unclosed group", "(", metav1.ConditionFalse, endpoint.ReasonInvalidUserNamePattern},
		{"an unclosed class", "[a-z", metav1.ConditionFalse, endpoint.ReasonInvalidUserNamePattern},
		{"a Perl lookahead RE2 lacks", "(?=x)", metav1.ConditionFalse, endpoint.ReasonInvalidUserNamePattern},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			key := newEndpoint(t, ns, fmt.Sprintf("pattern-%d", i), []string{"token"},
				func(ep *scimv1.ScimEndpoint) { ep.Spec.UserNamePattern = tc.pattern })
			waitEndpoint(t, key, "Ready "+string(tc.status)+"/"+tc.cause, isReady(tc.status, tc.cause, 1))
			if tc.status == metav1.ConditionTrue {
				return
			}
			patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) { ep.Spec.UserNamePattern = `[a-z]+` })
			waitEndpoint(t, key, "Ready once the pattern is fixed", isReady(metav1.ConditionTrue, endpoint.ReasonServing, 1))
		})
	}
}

// TestObservedGeneration: status.observedGeneration and the Ready
// condition's follow spec changes; a metadata change leaves them.
func TestObservedGeneration(t *testing.T) {
	ns := newNamespace(t)
	tokenSecret(t, ns, "token", newToken(t), true)
	key := newEndpoint(t, ns, "gen", []string{"token"})
	generation := func(want int64) func(*scimv1.ScimEndpoint) (bool, string) {
		return func(ep *scimv1.ScimEndpoint) (bool, string) {
			c := meta.FindStatusCondition(ep.Status.Conditions, scimv1.ConditionReady)
			ok := ep.Generation == want && ep.Status.ObservedGeneration == want && c != nil && c.ObservedGeneration == want
			return ok, fmt.Sprintf("generation=%d observedGeneration=%d %s", ep.Generation, ep.Status.ObservedGeneration, ready(ep))
		}
	}
	waitEndpoint(t, key, "observedGeneration 1", generation(1))
	patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) { ep.Spec.MaxPageSize = 500 })
	waitEndpoint(t, key, "observedGeneration 2 after a spec change", generation(2))
	patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) { ep.Spec.UserNamePattern = "(" })
	waitEndpoint(t, key, "Ready False at generation 3", func(ep *scimv1.ScimEndpoint) (bool, string) {
		ok, state := generation(3)(ep)
		ok2, _ := isReady(metav1.ConditionFalse, endpoint.ReasonInvalidUserNamePattern, 1)(ep)
		return ok && ok2, state
	})
}

// TestReadyEvents: each change of the Ready condition is an Event on the
// endpoint, Warning when it is not True.
func TestReadyEvents(t *testing.T) {
	ns := newNamespace(t)
	key := newEndpoint(t, ns, "events", []string{"token"})
	waitEndpoint(t, key, "no token", isReady(metav1.ConditionFalse, endpoint.ReasonNoValidTokens, 0))
	e := waitEvent(t, key, corev1.EventTypeWarning, endpoint.ReasonNoValidTokens)
	if !strings.Contains(e.Note, "token/token "+notOptedIn) {
		t.Errorf("NoValidTokens Event note %q does not say why", e.Note)
	}

	tokenSecret(t, ns, "token", newToken(t), true)
	waitEndpoint(t, key, "serving", isReady(metav1.ConditionTrue, endpoint.ReasonServing, 1))
	waitEvent(t, key, corev1.EventTypeNormal, endpoint.ReasonServing)

	patchEndpoint(t, key, func(ep *scimv1.ScimEndpoint) { ep.Spec.UserNamePattern = "(" })
	waitEndpoint(t, key, "invalid pattern", isReady(metav1.ConditionFalse, endpoint.ReasonInvalidUserNamePattern, 1))
	waitEvent(t, key, corev1.EventTypeWarning, endpoint.ReasonInvalidUserNamePattern)
}
