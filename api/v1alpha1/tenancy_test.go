package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAllowsNamespace: which namespaces' bindings and TenantApps may use an
// endpoint in namespace identity.
func TestAllowsNamespace(t *testing.T) {
	payments := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}
	labelled := map[string]string{"team": "payments"}
	for _, tc := range []struct {
		reason  string
		allowed AllowedNamespaces
		ns      string
		labels  map[string]string
		want    bool
	}{
		{"the endpoint's own namespace, by default", AllowedNamespaces{}, "identity", nil, true},
		{"another namespace, by default", AllowedNamespaces{}, "t1", labelled, false},
		{"another namespace with Same", AllowedNamespaces{From: NamespacesFromSame}, "t1", labelled, false},
		{"any namespace with All", AllowedNamespaces{From: NamespacesFromAll}, "t1", nil, true},
		{"a matching namespace with Selector", AllowedNamespaces{From: NamespacesFromSelector, Selector: payments}, "t1", labelled, true},
		{"a namespace without the label", AllowedNamespaces{From: NamespacesFromSelector, Selector: payments}, "t2", map[string]string{"team": "web"}, false},
		{"the own namespace with a Selector it does not match", AllowedNamespaces{From: NamespacesFromSelector, Selector: payments}, "identity", nil, true},
		{"an empty selector allows no other namespace", AllowedNamespaces{From: NamespacesFromSelector, Selector: &metav1.LabelSelector{}}, "t1", labelled, false},
		{"Selector without a selector", AllowedNamespaces{From: NamespacesFromSelector}, "t1", labelled, false},
		{"an invalid selector allows no other namespace", AllowedNamespaces{From: NamespacesFromSelector, Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}}}, "t1", labelled, false},
	} {
		ep := &ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: "identity", Name: "okta"},
			Spec: ScimEndpointSpec{AllowedNamespaces: tc.allowed}}
		if got := ep.AllowsNamespace(tc.ns, tc.labels); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.reason, got, tc.want)
		}
	}
}

// TestEndpointRef: spec.endpoint without endpointNamespace keeps meaning the
// object's own namespace.
func TestEndpointRef(t *testing.T) {
	own := ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "t1"}, Spec: ScimRoleBindingSpec{Endpoint: "okta"}}
	other := TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: "t1"}, Spec: TenantAppSpec{Endpoint: "okta", EndpointNamespace: "identity"}}
	if got := own.EndpointRef().String(); got != "t1/okta" {
		t.Errorf("binding without endpointNamespace: %s, want t1/okta", got)
	}
	if got := other.EndpointRef().String(); got != "identity/okta" {
		t.Errorf("TenantApp with endpointNamespace: %s, want identity/okta", got)
	}
}
