package chart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// gateway layers httpRoute.enabled over all-features.yaml.
var gateway = testdata("gateway.yaml")

// withHTTPRouteAPI tells `helm template` that the cluster serves HTTPRoutes.
const withHTTPRouteAPI = "--api-versions=gateway.networking.k8s.io/v1/HTTPRoute"

func TestHTTPRoute(t *testing.T) {
	t.Run("none by default", func(t *testing.T) {
		if n := len(find(render(t, nil, withHTTPRouteAPI), "HTTPRoute")); n != 0 {
			t.Errorf("default values render %d HTTPRoutes", n)
		}
	})

	for _, tc := range []struct {
		reason string
		args   []string
		want   string // part of the template's error
	}{
		{"refused without the HTTPRoute API", nil, "does not serve gateway.networking.k8s.io/v1 HTTPRoute"},
		{"refused without a parent Gateway", []string{withHTTPRouteAPI, "--set", "httpRoute.parentRefs=null"},
			"httpRoute.parentRefs must name at least one Gateway"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			_, err := helm(t, nil, templateArgs([]string{allFeatures, gateway}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
		})
	}

	t.Run("routes /scim/v2 to the SCIM Service port", func(t *testing.T) {
		objs := render(t, []string{allFeatures, gateway}, withHTTPRouteAPI)
		route := one(t, objs, "HTTPRoute")
		var svc corev1.Service
		typed(t, named(t, objs, "Service", "scim-scim-operator"), &svc)

		parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
		wantParents := []any{map[string]any{"name": "public", "namespace": "gateway-system", "sectionName": "https"}}
		if diff := cmp.Diff(wantParents, parents); diff != "" {
			t.Errorf("parentRefs (-want +got):\n%s", diff)
		}
		hosts, _, _ := unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
		if diff := cmp.Diff([]string{"scim.example.com"}, hosts); diff != "" {
			t.Errorf("hostnames (-want +got):\n%s", diff)
		}
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		wantRules := []any{map[string]any{
			"matches":     []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/scim/v2"}}},
			"backendRefs": []any{map[string]any{"name": svc.Name, "port": float64(svc.Spec.Ports[0].Port)}},
		}}
		if diff := cmp.Diff(wantRules, rules); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
		if svc.Spec.Ports[0].Port != 8443 {
			t.Errorf("SCIM Service port = %d, want all-features.yaml's 8443", svc.Spec.Ports[0].Port)
		}
		if route.GetLabels()["exposure"] != "public" || route.GetAnnotations()["example.com/owner"] != "platform" {
			t.Errorf("HTTPRoute labels %v, annotations %v lack the values'", route.GetLabels(), route.GetAnnotations())
		}
		// The Ingress of all-features.yaml is still rendered beside the route.
		one(t, objs, "Ingress")
	})
}

func TestNetworkPolicyEgress(t *testing.T) {
	t.Run("ingress only unless egress is enabled", func(t *testing.T) {
		objs := render(t, nil, "--set", "networkPolicy.enabled=true")
		var np networkingv1.NetworkPolicy
		typed(t, one(t, objs, "NetworkPolicy"), &np)
		if diff := cmp.Diff([]networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, np.Spec.PolicyTypes); diff != "" {
			t.Errorf("policyTypes (-want +got):\n%s", diff)
		}
	})

	t.Run("refused without the API server's addresses", func(t *testing.T) {
		_, err := helm(t, nil, templateArgs(nil, "--set", "networkPolicy.egress.enabled=true")...)
		if err == nil || !strings.Contains(err.Error(), "networkPolicy.egress.apiServer.cidrs must list") {
			t.Fatalf("want the template to refuse egress without API server CIDRs, got %v", err)
		}
	})

	objs := render(t, []string{allFeatures})
	pods := map[string]labels.Set{} // component -> pod template labels
	for _, d := range find(objs, "Deployment") {
		var dep appsv1.Deployment
		typed(t, d, &dep)
		pods[dep.Spec.Template.Labels["app.kubernetes.io/component"]] = dep.Spec.Template.Labels
	}
	var test corev1.Pod
	typed(t, one(t, objs, "Pod"), &test)
	pods["test"] = test.Labels

	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(p int) *intstr.IntOrString { v := intstr.FromInt32(int32(p)); return &v }
	for _, tc := range []struct {
		name     string
		selects  []string // components whose pods the policy applies to
		wantRule []networkingv1.NetworkPolicyEgressRule
	}{
		{"scim-scim-operator-egress", []string{"controllers", "scim"}, []networkingv1.NetworkPolicyEgressRule{
			{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: port(53), Protocol: &udp}, {Port: port(53), Protocol: &tcp}},
			},
			{
				To: []networkingv1.NetworkPolicyPeer{
					{IPBlock: &networkingv1.IPBlock{CIDR: "172.18.0.2/32"}}, {IPBlock: &networkingv1.IPBlock{CIDR: "10.96.0.1/32"}},
				},
				Ports: []networkingv1.NetworkPolicyPort{{Port: port(443), Protocol: &tcp}, {Port: port(6443), Protocol: &tcp}},
			},
		}},
		{"scim-scim-operator-tenant-databases", []string{"controllers"}, []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/16"}}},
			Ports: []networkingv1.NetworkPolicyPort{{Port: port(5432), Protocol: &tcp}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var np networkingv1.NetworkPolicy
			typed(t, named(t, objs, "NetworkPolicy", tc.name), &np)
			if diff := cmp.Diff([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes); diff != "" {
				t.Errorf("policyTypes (-want +got):\n%s", diff)
			}
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				t.Fatal(err)
			}
			var selected []string
			for _, component := range []string{"controllers", "scim", "test"} {
				if sel.Matches(pods[component]) {
					selected = append(selected, component)
				}
			}
			if diff := cmp.Diff(tc.selects, selected); diff != "" {
				t.Errorf("pods the policy applies to (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRule, np.Spec.Egress); diff != "" {
				t.Errorf("egress rules (-want +got):\n%s", diff)
			}
		})
	}
}
