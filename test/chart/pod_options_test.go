package chart

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// deployments returns the manager Deployments of objs by component.
func deployments(t *testing.T, objs []*unstructured.Unstructured) map[string]appsv1.Deployment {
	t.Helper()
	deps := map[string]appsv1.Deployment{}
	for _, o := range find(objs, "Deployment") {
		var dep appsv1.Deployment
		typed(t, o, &dep)
		deps[dep.Spec.Template.Labels["app.kubernetes.io/component"]] = dep
	}
	return deps
}

func TestPodOptions(t *testing.T) {
	deps := deployments(t, render(t, []string{allFeatures}))
	for _, component := range []string{"scim", "controllers"} {
		t.Run(component, func(t *testing.T) {
			pod := deps[component].Spec.Template.Spec
			c := pod.Containers[0]
			env := []corev1.EnvVar{
				{Name: "HTTPS_PROXY", Value: "http://proxy.example.com:3128"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			}
			if diff := cmp.Diff(env, c.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			var volumes, mounts []string
			for _, v := range pod.Volumes {
				volumes = append(volumes, v.Name)
			}
			for _, m := range c.VolumeMounts {
				mounts = append(mounts, m.Name+":"+m.MountPath)
			}
			wantVolumes := []string{"tenant-db-ca"}
			wantMounts := []string{"tenant-db-ca:/etc/scim-operator/tenant-db-ca"}
			if component == "scim" { // the id key and the TLS Secret stay beside the extra volume
				wantVolumes = append([]string{"id-key", "scim-tls"}, wantVolumes...)
				wantMounts = append([]string{"id-key:/etc/scim-operator/id-key", "scim-tls:/etc/scim-operator/tls"}, wantMounts...)
			}
			if diff := cmp.Diff(wantVolumes, volumes); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantMounts, mounts); diff != "" {
				t.Errorf("volume mounts (-want +got):\n%s", diff)
			}

			checkProbes(t, c)
			timings := func(p *corev1.Probe) [4]int32 {
				return [4]int32{p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold}
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				want  [4]int32
			}{
				{"liveness", c.LivenessProbe, [4]int32{10, 20, 3, 5}},
				{"readiness", c.ReadinessProbe, [4]int32{0, 10, 3, 2}},
				{"startup", c.StartupProbe, [4]int32{0, 10, 0, 90}},
			} {
				if got := timings(p.probe); got != p.want {
					t.Errorf("%s probe (initialDelay, period, timeout, failureThreshold) = %v, want %v", p.name, got, p.want)
				}
			}

			leaderArgs := []string{"--leader-elect-lease-duration=30s", "--leader-elect-renew-deadline=20s", "--leader-elect-retry-period=4s"}
			for _, arg := range leaderArgs {
				// The SCIM server takes no part in leader election.
				if has := slices.Contains(c.Args, arg); has != (component == "controllers") {
					t.Errorf("args %q: has %s = %v", c.Args, arg, has)
				}
			}
		})
	}

	t.Run("default probe timings", func(t *testing.T) {
		c := deployments(t, render(t, nil))["scim"].Spec.Template.Spec.Containers[0]
		if c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold != 300 {
			t.Errorf("startup probe allows %ds, want the documented 5 minutes",
				c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold)
		}
		if len(c.Env) != 0 || len(c.VolumeMounts) != 0 {
			t.Errorf("default values render env %v and mounts %v", c.Env, c.VolumeMounts)
		}
	})
}

func TestOpenShift(t *testing.T) {
	for _, tc := range []struct {
		reason    string
		args      []string
		wantFixed bool // runAsUser and runAsGroup set
	}{
		{"fixed ids by default", nil, true},
		{"ids left to the SCC with openshift.enabled", []string{"--set", "openshift.enabled=true", "--set", "podSecurityContext.fsGroup=65532"}, false},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			objs := render(t, []string{allFeatures}, tc.args...)
			var test corev1.Pod
			typed(t, one(t, objs, "Pod"), &test)
			pods := map[string]corev1.PodSpec{"helm test": test.Spec}
			for component, dep := range deployments(t, objs) {
				pods[component] = dep.Spec.Template.Spec
			}
			for what, pod := range pods {
				checkPodHardened(t, what, pod)
				psc := pod.SecurityContext
				if fixed := psc.RunAsUser != nil && psc.RunAsGroup != nil; fixed != tc.wantFixed {
					t.Errorf("%s: runAsUser %v runAsGroup %v, want set = %v", what, psc.RunAsUser, psc.RunAsGroup, tc.wantFixed)
				}
				if !tc.wantFixed && psc.FSGroup != nil {
					t.Errorf("%s: fsGroup %d survives openshift.enabled", what, *psc.FSGroup)
				}
				for _, c := range pod.Containers {
					if !tc.wantFixed && (c.SecurityContext.RunAsUser != nil || c.SecurityContext.RunAsGroup != nil) {
						t.Errorf("%s: container %s has a fixed id", what, c.Name)
					}
				}
			}
		})
	}
}

// TestManagerAcceptsRenderedArgs builds the manager and checks that every flag
// the chart passes, with default values and with every feature on, is one the
// binary defines: a flag it does not know stops it at start.
func TestManagerAcceptsRenderedArgs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "scim-operator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = controlplane.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	help, _ := exec.Command(bin, "--help").CombinedOutput() // exits 0 or 2 depending on flag's ErrorHandling
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		defined[m[1]] = true
	}
	if !defined["leader-elect"] {
		t.Fatalf("could not read the flags from --help:\n%s", help)
	}
	for _, values := range [][]string{nil, {allFeatures}} {
		for component, dep := range deployments(t, render(t, values)) {
			for _, arg := range dep.Spec.Template.Spec.Containers[0].Args {
				name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
				if !defined[name] {
					t.Errorf("%s (values %v): the manager defines no flag %s", component, values, arg)
				}
			}
		}
	}
}
