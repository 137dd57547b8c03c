package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
)

// TestTokenSecrets: a token Secret must opt in with a label; its value is
// trimmed (a trailing newline from `echo` used to make a token that counted
// as valid but never authenticated); a weak token is refused; the endpoint's
// Ready condition says which key gives no token and why, in words that do not
// tell a missing Secret from one that is not a token Secret.
func TestTokenSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ep := newEndpoint(t)
	const padded = "7d2f0a9c4e1b8d3f6a5c2e0b9d7f1a3c5e8b0d2f4a6c8e1b3d5f7a9c0e2b4d6f"
	const plain = "1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d"
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "padded", Labels: map[string]string{scimv1.LabelTokenSecret: "true"}},
			StringData: map[string]string{"token": padded + "\n"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, StringData: map[string]string{"token": plain}},
		{ObjectMeta: metav1.ObjectMeta{Name: "weak", Labels: map[string]string{scimv1.LabelTokenSecret: "true"}},
			StringData: map[string]string{"token": "changeme-please"}},
	}
	key := types.NamespacedName{Namespace: ep.Namespace, Name: ep.Name}
	for _, s := range secrets {
		s.Namespace = ep.Namespace
		if err := op.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var e scimv1.ScimEndpoint
		if err := op.Client.Get(ctx, key, &e); err != nil {
			return err
		}
		for _, name := range []string{"padded", "plain", "weak", "missing"} {
			e.Spec.TokenSecretRefs = append(e.Spec.TokenSecretRefs, scimv1.SecretKeyReference{Name: name, Key: "token"})
		}
		return op.Client.Update(ctx, &e)
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for ep.DoToken(t, padded, "GET", "/ServiceProviderConfig", nil).Status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("a token stored with a trailing newline never authenticated")
		}
		time.Sleep(50 * time.Millisecond)
	}
	expectStatus(t, ep.DoToken(t, plain, "GET", "/ServiceProviderConfig", nil), 401)
	expectStatus(t, ep.DoToken(t, "changeme-please", "GET", "/ServiceProviderConfig", nil), 401)

	var msg string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var e scimv1.ScimEndpoint
		if err := op.Client.Get(ctx, key, &e); err != nil {
			t.Fatal(err)
		}
		if c := meta.FindStatusCondition(e.Status.Conditions, scimv1.ConditionReady); c != nil {
			msg = c.Message
		}
		if e.Status.ValidTokens == 2 && strings.Contains(msg, "weak/token") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never counted 2 valid tokens and named the weak one: %q", msg)
		}
	}
	for _, want := range []string{
		"plain/token does not exist or its Secret is not labelled",
		"missing/token does not exist or its Secret is not labelled",
		"weak/token holds a token of under 128 bits",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, plain) || strings.Contains(msg, padded) {
		t.Errorf("a token leaked into the status: %s", msg)
	}
}
