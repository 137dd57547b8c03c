package rbac_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/rolebinding"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestEndpointAllowsTenantNamespaces: one IdP app in namespace identity,
// tenants binding its groups from their own namespaces. Only the namespaces
// the endpoint's allowedNamespaces selects get a grant; narrowing the
// allowance (here by removing a namespace's label) revokes at once, although
// the endpoint's deprovisioning guard would hold any revocation the IdP
// caused.
func TestEndpointAllowsTenantNamespaces(t *testing.T) {
	ctx := context.Background()
	team := testharness.UniqueName("payments")
	ep := op.NewEndpoint(t, testharness.Namespace(t), "okta", func(e *scimv1.ScimEndpoint) {
		e.Spec.AllowedNamespaces = scimv1.AllowedNamespaces{From: scimv1.NamespacesFromSelector,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": team}}}
		// Users younger than a window make the baseline 0: the guard
		// would hold every revocation it is asked about.
		e.Spec.DeprovisioningGuard = scimv1.DeprovisioningGuard{MaxPercent: 1, MinRevocations: 0,
			Window: metav1.Duration{Duration: time.Hour}}
	})
	alice := createUser(t, ep, "alice@example.com")
	bob := createUser(t, ep, "bob@example.com")
	createGroup(t, ep, "payments-devs", alice, bob)

	labelled, unlabelled := testharness.Namespace(t), testharness.Namespace(t)
	for ns, labels := range map[string]map[string]string{labelled: {"team": team}, unlabelled: nil} {
		if err := op.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	allowed := bindAcross(t, labelled, ep)
	refused := bindAcross(t, unlabelled, ep)

	wantSubjects(t, uidOf(t, allowed), labelled, "alice@example.com", "bob@example.com")
	wantReady(t, allowed, metav1.ConditionTrue, rolebinding.ReasonBound)
	wantReady(t, refused, metav1.ConditionFalse, rolebinding.ReasonEndpointNotAllowed)
	if got := subjects(t, uidOf(t, refused), ""); len(got) != 0 {
		t.Errorf("a binding the endpoint does not allow granted %v", got)
	}

	// The tenant namespace loses its label: the grant goes, unheld.
	var n corev1.Namespace
	if err := op.Client.Get(ctx, client.ObjectKey{Name: labelled}, &n); err != nil {
		t.Fatal(err)
	}
	delete(n.Labels, "team")
	if err := op.Client.Update(ctx, &n); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, uidOf(t, allowed), labelled)
	wantReady(t, allowed, metav1.ConditionFalse, rolebinding.ReasonEndpointNotAllowed)

	// The endpoint owner allows every namespace: both are granted again.
	var cur scimv1.ScimEndpoint
	if err := op.Client.Get(ctx, client.ObjectKey{Namespace: ep.Namespace, Name: ep.Name}, &cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.AllowedNamespaces = scimv1.AllowedNamespaces{From: scimv1.NamespacesFromAll}
	if err := op.Client.Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	wantSubjects(t, uidOf(t, allowed), labelled, "alice@example.com", "bob@example.com")
	wantSubjects(t, uidOf(t, refused), unlabelled, "alice@example.com", "bob@example.com")
	wantReady(t, refused, metav1.ConditionTrue, rolebinding.ReasonBound)
}

// bindAcross creates a ScimRoleBinding in ns granting view to the endpoint's
// group payments-devs, referencing the endpoint in its own namespace.
func bindAcross(t *testing.T, ns string, ep *testharness.Endpoint) *scimv1.ScimRoleBinding {
	t.Helper()
	b := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payments-viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: ep.Name, EndpointNamespace: ep.Namespace,
			Group: scimv1.GroupReference{DisplayName: "payments-devs"}, RoleRef: view}}
	if err := op.Client.Create(context.Background(), b); err != nil {
		t.Fatalf("creating ScimRoleBinding in %s: %v", ns, err)
	}
	return b
}

func uidOf(t *testing.T, b *scimv1.ScimRoleBinding) string {
	t.Helper()
	var cur scimv1.ScimRoleBinding
	if err := op.Client.Get(context.Background(), client.ObjectKeyFromObject(b), &cur); err != nil {
		t.Fatal(err)
	}
	return string(cur.UID)
}

// wantReady waits until the binding's Ready condition has status and reason.
func wantReady(t *testing.T, b *scimv1.ScimRoleBinding, status metav1.ConditionStatus, reason string) {
	t.Helper()
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimRoleBinding
		if err := op.Client.Get(context.Background(), client.ObjectKeyFromObject(b), &cur); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionReady)
		return testharness.Unless(c != nil && c.Status == status && c.Reason == reason &&
			c.ObservedGeneration == cur.Generation, "Ready "+string(status)+" "+reason, fmt.Sprintf("%+v", c))
	})
}
