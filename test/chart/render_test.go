package chart

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// allFeatures is the values file that switches every optional feature on.
var allFeatures = testdata("all-features.yaml")

// withServiceMonitorAPI tells `helm template` that the cluster serves
// ServiceMonitors, as `helm install` finds out from the API server.
const withServiceMonitorAPI = "--api-versions=monitoring.coreos.com/v1/ServiceMonitor"

func TestLintStrict(t *testing.T) {
	for _, tc := range []struct {
		reason string
		values []string
	}{
		{"default values", nil},
		{"every optional feature on", []string{allFeatures}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir, "--namespace", releaseNamespace}
			for _, f := range tc.values {
				args = append(args, "--values", f)
			}
			if out, err := helm(t, nil, args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestSchemaRejectsInvalidValues(t *testing.T) {
	for _, tc := range []struct {
		file   string
		reason string
		want   string // part of Helm's error
	}{
		{"token-value.yaml", "a token value next to the Secret references", "token"},
		{"token-ref-value.yaml", "a token value inside a Secret reference", "value"},
		{"unknown-key.yaml", "a misspelt top-level key", "replicas"},
		{"replica-type.yaml", "replicaCount is not an integer", "replicaCount"},
		{"allowed-role.yaml", "an allow-list entry that is not <kind>/<name>", "allowedRoles"},
		{"service-type.yaml", "a Service type the chart does not support", "type"},
		{"ingress-host.yaml", "an ingress host that is a URL", "hosts"},
		{"endpoint-without-token.yaml", "an endpoint without tokenSecretRefs", "tokenSecretRefs"},
		{"tls-duration.yaml", "a certificate lifetime in days", "duration"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			_, err := helm(t, nil, templateArgs([]string{filepath.Join("testdata", "invalid", tc.file)})...)
			if err == nil {
				t.Fatalf("helm template accepted %s", tc.file)
			}
			msg := err.Error()
			if !strings.Contains(msg, "values don't meet the specifications of the schema") || !strings.Contains(msg, tc.want) {
				t.Errorf("want a schema error naming %q, got:\n%s", tc.want, msg)
			}
		})
	}
}

// TestRenderedManagerIsHardened checks what a security review of the chart
// looks at first, with default values and with every feature on.
func TestRenderedManagerIsHardened(t *testing.T) {
	for _, tc := range []struct {
		reason   string
		values   []string
		replicas int32
	}{
		{"default values", nil, 2},
		{"every optional feature on", []string{allFeatures}, 3},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			objs := render(t, tc.values, withServiceMonitorAPI)
			if n := len(find(objs, "Deployment")); n != 2 {
				t.Fatalf("want two Deployments (scim, controllers), rendered %d", n)
			}
			for _, component := range []struct {
				name      string
				args      []string
				scimPort  int32
				otherArgs []string // args the component must not have
			}{
				{"scim", []string{"--components=scim", "--leader-elect=false", "--scim-bind-address=:8443"}, 8443,
					[]string{"--allowed-roles="}},
				{"controllers", []string{"--components=controllers", "--leader-elect=true",
					"--leader-election-namespace=" + releaseNamespace}, 0, []string{"--scim-bind-address="}},
			} {
				var dep appsv1.Deployment
				typed(t, named(t, objs, "Deployment", "scim-scim-operator-"+component.name), &dep)
				if got := *dep.Spec.Replicas; got != tc.replicas {
					t.Errorf("%s: replicas = %d, want %d", component.name, got, tc.replicas)
				}
				pod := dep.Spec.Template.Spec
				checkPodHardened(t, component.name, pod)
				if len(pod.Containers) != 1 {
					t.Fatalf("want one container, got %d", len(pod.Containers))
				}
				if !strings.HasSuffix(pod.ServiceAccountName, "-"+component.name) {
					t.Errorf("%s runs as ServiceAccount %s, want its own", component.name, pod.ServiceAccountName)
				}
				c := pod.Containers[0]
				checkProbes(t, c)
				for _, want := range append(component.args, "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081") {
					if !slices.Contains(c.Args, want) {
						t.Errorf("%s: args %q lack %s", component.name, c.Args, want)
					}
				}
				for _, arg := range c.Args {
					for _, other := range component.otherArgs {
						if strings.HasPrefix(arg, other) {
							t.Errorf("%s: args %q have %s", component.name, c.Args, arg)
						}
					}
				}
				if port := containerPort(c, "scim"); port != component.scimPort {
					t.Errorf("%s: container port scim = %d, want %d", component.name, port, component.scimPort)
				}
				if port := containerPort(c, "metrics"); port != 8080 {
					t.Errorf("%s: container port metrics = %d, want 8080 (--metrics-bind-address)", component.name, port)
				}
			}

			var test corev1.Pod
			typed(t, one(t, objs, "Pod"), &test)
			if test.Annotations["helm.sh/hook"] != "test" {
				t.Errorf("test Pod hook annotation = %q, want test", test.Annotations["helm.sh/hook"])
			}
			checkPodHardened(t, "helm test", test.Spec)
		})
	}
}

// checkPodHardened asserts the restricted Pod Security Standard's settings.
func checkPodHardened(t *testing.T, what string, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true: %+v", what, psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile is not RuntimeDefault: %+v", what, psc)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: container %s has no securityContext", what, c.Name)
			continue
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("%s: container %s runAsNonRoot is not true", what, c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: container %s readOnlyRootFilesystem is not true", what, c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: container %s allowPrivilegeEscalation is not false", what, c.Name)
		}
		if sc.Capabilities == nil || !cmp.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: container %s capabilities = %+v, want drop [ALL] and no add", what, c.Name, sc.Capabilities)
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: container %s seccompProfile is not RuntimeDefault", what, c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: container %s is privileged", what, c.Name)
		}
	}
}

// checkProbes asserts liveness on /healthz and readiness on /readyz, on the
// port the manager serves them on (--health-probe-bind-address=:8081).
func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		port := p.probe.HTTPGet.Port
		if port.IntValue() != 8081 && containerPort(c, port.String()) != 8081 {
			t.Errorf("%s probe port %s is not the probe port 8081", p.name, port.String())
		}
	}
}

// containerPort returns the number of the named container port, or 0.
func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func TestLeaderElection(t *testing.T) {
	t.Run("cannot be switched off with several replicas", func(t *testing.T) {
		_, err := helm(t, nil, templateArgs(nil, "--set", "leaderElection.enabled=false")...)
		if err == nil || !strings.Contains(err.Error(), "leaderElection.enabled=false with replicaCount > 1") {
			t.Fatalf("want the template to refuse two replicas without leader election, got %v", err)
		}
	})
	t.Run("off with one replica", func(t *testing.T) {
		objs := render(t, nil, "--set", "leaderElection.enabled=false", "--set", "replicaCount=1")
		var dep appsv1.Deployment
		typed(t, named(t, objs, "Deployment", "scim-scim-operator-controllers"), &dep)
		if !slices.Contains(dep.Spec.Template.Spec.Containers[0].Args, "--leader-elect=false") {
			t.Errorf("args %q lack --leader-elect=false", dep.Spec.Template.Spec.Containers[0].Args)
		}
		for _, o := range append(find(objs, "Role"), find(objs, "PodDisruptionBudget")...) {
			if strings.HasSuffix(o.GetName(), "-leader-election") || o.GetKind() == "PodDisruptionBudget" {
				t.Errorf("rendered %s %s for a single replica without leader election", o.GetKind(), o.GetName())
			}
		}
	})
}

func TestOptionalFeatures(t *testing.T) {
	defaults := render(t, nil)
	for _, kind := range []string{"Ingress", "NetworkPolicy", "ServiceMonitor", "ScimEndpoint", "Secret"} {
		if n := len(find(defaults, kind)); n != 0 {
			t.Errorf("default values render %d %s, want none", n, kind)
		}
	}
	for kind, want := range map[string]int{
		// One per component; Roles and RoleBindings: the Secret Role of each
		// component in the release namespace, leader election, and the SCIM
		// server's read of its own pods;
		// ClusterRoles: one per component, metrics-reader, tenant-edit and tenant-view.
		"Deployment": 2, "PodDisruptionBudget": 2, "ServiceAccount": 2, "ClusterRole": 5, "ClusterRoleBinding": 2,
		"Role": 4, "RoleBinding": 4, "ValidatingAdmissionPolicy": 2, "ValidatingAdmissionPolicyBinding": 2,
	} {
		if n := len(find(defaults, kind)); n != want {
			t.Errorf("default values render %d %s, want %d", n, kind, want)
		}
	}

	t.Run("admission policies off", func(t *testing.T) {
		objs := render(t, nil, "--set", "admissionPolicies.enabled=false")
		if n := len(find(objs, "ValidatingAdmissionPolicy")) + len(find(objs, "ValidatingAdmissionPolicyBinding")); n != 0 {
			t.Errorf("rendered %d admission policies and bindings with admissionPolicies.enabled=false", n)
		}
	})

	t.Run("SCIM Service selects the scim pods only", func(t *testing.T) {
		var svc corev1.Service
		typed(t, named(t, defaults, "Service", "scim-scim-operator"), &svc)
		if svc.Spec.Selector["app.kubernetes.io/component"] != "scim" {
			t.Errorf("SCIM Service selects %v, want component scim", svc.Spec.Selector)
		}
	})

	t.Run("Secret namespaces", func(t *testing.T) {
		objs := render(t, []string{allFeatures}, "--set", "secretNamespaces={apps}")
		var namespaces []string
		for _, o := range find(objs, "Role") {
			if strings.HasSuffix(o.GetName(), "-scim-secrets") {
				namespaces = append(namespaces, o.GetNamespace())
			}
		}
		want := []string{releaseNamespace, "identity", "apps"}
		if diff := cmp.Diff(want, namespaces); diff != "" {
			t.Errorf("Secret Roles in namespaces (-want +got):\n%s", diff)
		}
		for _, d := range find(objs, "Deployment") {
			var dep appsv1.Deployment
			typed(t, d, &dep)
			if arg := "--secret-namespaces=" + strings.Join(want, ","); !slices.Contains(dep.Spec.Template.Spec.Containers[0].Args, arg) {
				t.Errorf("Deployment %s args %q lack %s", d.GetName(), dep.Spec.Template.Spec.Containers[0].Args, arg)
			}
		}
	})

	t.Run("ServiceMonitor only when the API exists", func(t *testing.T) {
		if n := len(find(render(t, []string{allFeatures}), "ServiceMonitor")); n != 0 {
			t.Errorf("rendered %d ServiceMonitors without the monitoring.coreos.com/v1 API", n)
		}
		sm := one(t, render(t, []string{allFeatures}, withServiceMonitorAPI), "ServiceMonitor")
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		if sel["app.kubernetes.io/component"] != "metrics" {
			t.Errorf("ServiceMonitor selects %v, want the metrics Service", sel)
		}
	})

	t.Run("Ingress routes /scim to the SCIM Service port", func(t *testing.T) {
		objs := render(t, []string{allFeatures})
		ing := one(t, objs, "Ingress")
		rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
		if len(rules) != 1 {
			t.Fatalf("want one rule, got %v", rules)
		}
		paths, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "http", "paths")
		path := paths[0].(map[string]any)
		port, _, _ := unstructured.NestedString(path, "backend", "service", "port", "name")
		if path["path"] != "/scim" || path["pathType"] != "Prefix" || port != "scim" {
			t.Errorf("ingress path = %v, want /scim Prefix to port scim", path)
		}
	})

	t.Run("metrics only on a ClusterIP Service", func(t *testing.T) {
		for _, svc := range find(render(t, []string{allFeatures}), "Service") {
			var s corev1.Service
			typed(t, svc, &s)
			for _, p := range s.Spec.Ports {
				if p.Name == "metrics" && s.Spec.Type != corev1.ServiceTypeClusterIP {
					t.Errorf("Service %s of type %s exposes metrics", s.Name, s.Spec.Type)
				}
			}
		}
	})

	t.Run("endpoints from values", func(t *testing.T) {
		eps := find(render(t, []string{allFeatures}), "ScimEndpoint")
		if len(eps) != 2 {
			t.Fatalf("rendered %d ScimEndpoints, want 2", len(eps))
		}
		if eps[1].GetNamespace() != "identity" || eps[0].GetNamespace() != releaseNamespace {
			t.Errorf("endpoint namespaces = %s, %s; want %s, identity", eps[0].GetNamespace(), eps[1].GetNamespace(), releaseNamespace)
		}
	})
}
