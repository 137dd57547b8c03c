package chart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
