package rbac_test

import (
	"context"
	"encoding/json"
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

// TestTenantEntitlementsPublishedWhereAllowed: a tenant namespace the
// endpoint allows publishes an entitlement to the endpoint's /Roles as
// "<namespace>.<name>", granted only in its own namespace; a namespace the
// endpoint does not allow, or an entitlement granting outside its own
// namespace, is neither published nor granted, and a user cannot be given it.
func TestTenantEntitlementsPublishedWhereAllowed(t *testing.T) {
	ctx := context.Background()
	team := testharness.UniqueName("platform")
	ep := op.NewEndpoint(t, testharness.Namespace(t), "okta", func(e *scimv1.ScimEndpoint) {
		e.Spec.AllowedNamespaces = scimv1.AllowedNamespaces{From: scimv1.NamespacesFromSelector,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": team}}}
	})
	allowedNS, refusedNS, otherNS := testharness.Namespace(t), testharness.Namespace(t), testharness.Namespace(t)
	for ns, labels := range map[string]map[string]string{allowedNS: {"team": team}, refusedNS: nil, otherNS: nil} {
		if err := op.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	tenantEntitlement := func(ns, name, grantIn string) *scimv1.ScimEntitlement {
		t.Helper()
		e := &scimv1.ScimEntitlement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: scimv1.ScimEntitlementSpec{Endpoint: ep.Name, EndpointNamespace: ep.Namespace, DisplayName: name,
				Grants: []scimv1.EntitlementGrant{{RoleRef: view, BindingTarget: scimv1.BindingTarget{Namespaces: []string{grantIn}}}}}}
		if err := op.Client.Create(ctx, e); err != nil {
			t.Fatalf("creating ScimEntitlement %s/%s: %v", ns, name, err)
		}
		return e
	}
	published := tenantEntitlement(allowedNS, "deployers", allowedNS)
	refused := tenantEntitlement(refusedNS, "deployers", refusedNS)
	reaching := tenantEntitlement(allowedNS, "reaching", otherNS)
	wantPublished(t, published, metav1.ConditionTrue, rolebinding.ReasonAccepted)
	wantPublished(t, refused, metav1.ConditionFalse, rolebinding.ReasonEndpointNotAllowed)
	wantPublished(t, reaching, metav1.ConditionFalse, rolebinding.ReasonGrantOutsideNamespace)

	id := allowedNS + ".deployers"
	r := ep.Do(t, "GET", "/Roles", nil)
	var roles struct{ Resources []struct{ ID string } }
	if err := json.Unmarshal(r.Body, &roles); err != nil || r.Status != 200 {
		t.Fatalf("GET /Roles: %d %s", r.Status, r.Body)
	}
	if got := fmt.Sprint(roles.Resources); got != fmt.Sprintf("[{%s}]", id) {
		t.Fatalf("/Roles lists %s, want only %s", got, id)
	}
	if r := ep.Do(t, "GET", "/Roles/"+id, nil); r.Status != 200 {
		t.Fatalf("GET /Roles/%s: %d %s", id, r.Status, r.Body)
	}
	for _, gone := range []string{refusedNS + ".deployers", allowedNS + ".reaching", "deployers"} {
		if r := ep.Do(t, "GET", "/Roles/"+gone, nil); r.Status != 404 {
			t.Errorf("GET /Roles/%s: %d, want 404", gone, r.Status)
		}
	}

	alice := createUser(t, ep, "alice@example.com")
	if r := ep.Do(t, "PUT", "/Users/"+alice, userWithRoles("alice@example.com", true, refusedNS+".deployers")); r.Status != 400 {
		t.Fatalf("granting the entitlement of a namespace the endpoint does not allow: %d %s, want 400", r.Status, r.Body)
	}
	put(t, ep, alice, userWithRoles("alice@example.com", true, id))
	wantSubjects(t, entitlementUID(t, published), allowedNS, "alice@example.com")
	put(t, ep, alice, userWithRoles("alice@example.com", true))
	wantSubjects(t, entitlementUID(t, published), allowedNS)
	for _, e := range []*scimv1.ScimEntitlement{refused, reaching} {
		if got := subjects(t, entitlementUID(t, e), ""); len(got) != 0 {
			t.Errorf("entitlement %s/%s granted %v", e.Namespace, e.Name, got)
		}
	}
}

func entitlementUID(t *testing.T, e *scimv1.ScimEntitlement) string {
	t.Helper()
	var cur scimv1.ScimEntitlement
	if err := op.Client.Get(context.Background(), client.ObjectKeyFromObject(e), &cur); err != nil {
		t.Fatal(err)
	}
	return string(cur.UID)
}

// wantPublished waits until the entitlement's Published condition has
// status and reason for its generation.
func wantPublished(t *testing.T, e *scimv1.ScimEntitlement, status metav1.ConditionStatus, reason string) {
	t.Helper()
	testharness.Eventually(t, waitLimit, func() string {
		var cur scimv1.ScimEntitlement
		if err := op.Client.Get(context.Background(), client.ObjectKeyFromObject(e), &cur); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(cur.Status.Conditions, scimv1.ConditionPublished)
		return testharness.Unless(c != nil && c.Status == status && c.Reason == reason &&
			c.ObservedGeneration == cur.Generation, "Published "+string(status)+" "+reason, fmt.Sprintf("%+v", c))
	})
}
