package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// requestsPerPhase is how many successful requests with a token each phase
// of TestTokenRotation waits for before it moves on.
const requestsPerPhase = 25

// validity is when a token was certainly valid: from the first accepted
// probe after it was added (zero: from the start) until its removal began
// (zero: to the end).
type validity struct{ from, until time.Time }

func (v validity) covers(o outcomeRecord) bool {
	return !o.start.Before(v.from) && (v.until.IsZero() || !o.end.After(v.until))
}

// TestTokenRotation rotates an endpoint's token twice while three workers
// send GET and POST traffic (bounded in requests and time): first the way
// the Secret-only flow does it (the endpoint also references key "next" of
// its token Secret, which does not exist yet: add it, switch, remove the old
// key), then as docs/token-rotation.md describes (a new Secret, a new
// reference, remove the old reference and Secret). It asserts that no
// request with a token valid for its whole duration failed, that old and new
// tokens were both accepted during each overlap, that a removed token is
// refused (401) within a bounded time and stays refused, and that every user
// a 201 reported exists.
func TestTokenRotation(t *testing.T) {
	op := testharness.RunOperator(t, cp, testharness.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := op.NewEndpoint(t, testharness.UniqueName("faults-rotation"), "idp", func(ep *scimv1.ScimEndpoint) {
		ep.Spec.TokenSecretRefs = append(ep.Spec.TokenSecretRefs, scimv1.SecretKeyReference{Name: "idp-token", Key: "next"})
	})
	first, second, third := e.Token, newToken(), newToken()
	valid := map[string]*validity{"first": {}, "second": {}, "third": {}}
	probe := func(label, token string) int {
		return do(ctx, e, label, token, http.MethodGet, "/Users?startIndex=1&count=1", nil).status
	}
	// accepted polls until token is accepted and returns when the first
	// accepted probe ended: from then on the token is valid.
	accepted := func(label, token string) time.Time {
		t.Helper()
		var o outcomeRecord
		if !testharness.WaitTrue(30*time.Second, func() bool {
			o = do(ctx, e, label, token, http.MethodGet, "/Users?startIndex=1&count=1", nil)
			return o.status == http.StatusOK
		}) {
			t.Fatalf("token %s was never accepted (last %d)", label, o.status)
		}
		return o.end
	}
	// refused polls until token gets 401, then checks it keeps getting 401.
	refused := func(label, token string) {
		t.Helper()
		if !testharness.WaitTrue(30*time.Second, func() bool { return probe(label, token) == http.StatusUnauthorized }) {
			t.Fatalf("token %s was still accepted 30 s after its removal", label)
		}
		for i := range 10 {
			o := do(ctx, e, label, token, http.MethodPost, "/Users", userBody(label+"-after-removal@example.com", ""))
			if o.status != http.StatusUnauthorized || probe(label, token) != http.StatusUnauthorized {
				t.Fatalf("removed token %s accepted again (check %d): POST %d", label, i, o.status)
			}
		}
	}

	tr := startTraffic(e, 3, 2000, 300, 2*time.Minute, "rotation", tokenLabel{"first", first})
	defer tr.stop()
	since := func(label string, from time.Time) func() bool {
		return func() bool {
			return tr.rec.count(func(o outcomeRecord) bool {
				return o.token == label && o.status/100 == 2 && !o.start.Before(from)
			}) >= requestsPerPhase
		}
	}
	phase := func(what string, cond func() bool) {
		t.Helper()
		if !testharness.WaitTrue(60*time.Second, cond) {
			t.Fatalf("traffic stalled during %s", what)
		}
	}
	phase("the first token's phase", since("first", time.Time{}))

	// Rotation 1: the Secret gains key "next", traffic moves, key "token" goes.
	updateSecret(ctx, t, op.Client, e.Namespace, "idp-token", func(s *corev1.Secret) { s.Data["next"] = []byte(second) })
	valid["second"].from = accepted("second", second)
	tr.use(tokenLabel{"first", first}, tokenLabel{"second", second})
	phase("the first overlap", func() bool { return since("first", valid["second"].from)() && since("second", valid["second"].from)() })
	tr.use(tokenLabel{"second", second})
	valid["first"].until = time.Now()
	updateSecret(ctx, t, op.Client, e.Namespace, "idp-token", func(s *corev1.Secret) { delete(s.Data, "token") })
	refused("first", first)
	phase("the second token's phase", since("second", time.Now()))

	// Rotation 2, as docs/token-rotation.md: a new Secret and reference, then
	// the old reference and Secret removed.
	if err := op.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: "idp-token-2",
		Labels: map[string]string{scimv1.LabelTokenSecret: "true"}},
		StringData: map[string]string{"token": third}}); err != nil {
		t.Fatal(err)
	}
	updateEndpoint(ctx, t, op.Client, e, func(ep *scimv1.ScimEndpoint) {
		ep.Spec.TokenSecretRefs = append(ep.Spec.TokenSecretRefs, scimv1.SecretKeyReference{Name: "idp-token-2", Key: "token"})
	})
	valid["third"].from = accepted("third", third)
	tr.use(tokenLabel{"second", second}, tokenLabel{"third", third})
	phase("the second overlap", func() bool { return since("second", valid["third"].from)() && since("third", valid["third"].from)() })
	tr.use(tokenLabel{"third", third})
	valid["second"].until = time.Now()
	updateEndpoint(ctx, t, op.Client, e, func(ep *scimv1.ScimEndpoint) {
		ep.Spec.TokenSecretRefs = slices.DeleteFunc(ep.Spec.TokenSecretRefs, func(r scimv1.SecretKeyReference) bool { return r.Name == "idp-token" })
	})
	if err := op.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: "idp-token"}}); err != nil {
		t.Fatal(err)
	}
	refused("second", second)
	phase("the third token's phase", since("third", time.Now()))
	tr.stop()

	checkRotationTraffic(ctx, t, e, third, tr.rec.all(), valid)
}

// checkRotationTraffic asserts what TestTokenRotation promises about the
// recorded traffic.
func checkRotationTraffic(ctx context.Context, t *testing.T, e *testharness.Endpoint, token string, recs []outcomeRecord, valid map[string]*validity) {
	t.Helper()
	created, inWindow, overlapOld := 0, 0, 0
	for _, o := range recs {
		v := valid[o.token]
		if o.err != nil || o.status >= 500 || o.status != http.StatusOK && o.status != http.StatusCreated && o.status != http.StatusUnauthorized {
			t.Errorf("%s %s with token %s: %d %v %s", o.method, o.path, o.token, o.status, o.err, snippet(o.body))
		}
		if v.covers(o) {
			inWindow++
			if o.status/100 != 2 {
				t.Errorf("%s %s with token %s, valid throughout, got %d at %s", o.method, o.path, o.token, o.status, o.start.Format(time.StampMilli))
			}
		}
		if o.status == http.StatusCreated {
			created++
		}
		if o.status/100 == 2 && (o.token == "first" && !o.start.Before(valid["second"].from) || o.token == "second" && !o.start.Before(valid["third"].from)) {
			overlapOld++
		}
	}
	t.Logf("%d requests, %d with a token valid throughout, %d created users, %d accepted with the old token during an overlap",
		len(recs), inWindow, created, overlapOld)
	if inWindow < 5*requestsPerPhase || overlapOld < 2*requestsPerPhase {
		t.Errorf("too little traffic to show anything: %d requests in a validity window, %d old-token requests in overlaps", inWindow, overlapOld)
	}
	// Every user a 201 reported is there.
	o := do(ctx, e, "third", token, http.MethodGet, "/Users?count=1", nil)
	var list struct {
		TotalResults int `json:"totalResults"`
	}
	if o.status != http.StatusOK || json.Unmarshal(o.body, &list) != nil || list.TotalResults != created {
		t.Errorf("users listed: %d (%d %s), want the %d created", list.TotalResults, o.status, snippet(o.body), created)
	}
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// updateSecret changes a Secret through the API server, retrying conflicts.
func updateSecret(ctx context.Context, t *testing.T, c client.Client, ns, name string, change func(*corev1.Secret)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
			return err
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		change(&s)
		return c.Update(ctx, &s)
	})
	if err != nil {
		t.Fatalf("updating Secret %s/%s: %v", ns, name, err)
	}
}

// updateEndpoint changes a ScimEndpoint through the API server, retrying conflicts.
func updateEndpoint(ctx context.Context, t *testing.T, c client.Client, e *testharness.Endpoint, change func(*scimv1.ScimEndpoint)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var ep scimv1.ScimEndpoint
		if err := c.Get(ctx, types.NamespacedName{Namespace: e.Namespace, Name: e.Name}, &ep); err != nil {
			return err
		}
		change(&ep)
		return c.Update(ctx, &ep)
	})
	if err != nil {
		t.Fatalf("updating ScimEndpoint %s/%s: %v", e.Namespace, e.Name, err)
	}
}
