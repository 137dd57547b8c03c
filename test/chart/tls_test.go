package chart

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// tlsDir is where the scim pods mount the TLS Secret.
const tlsDir = "/etc/scim-operator/tls"

// TestInPodTLS checks what tls.* renders: nothing when off; with a given
// Secret or a cert-manager Certificate, the scim pods — and only they — mount
// the Secret read-only and pass its two files to the manager, the probes stay
// plain HTTP on the probe port, and the helm test Pod speaks HTTPS.
func TestInPodTLS(t *testing.T) {
	t.Run("off renders none of it", func(t *testing.T) {
		objs := render(t, nil)
		if n := len(find(objs, "Certificate")); n != 0 {
			t.Errorf("default values render %d Certificates", n)
		}
		for component, dep := range deployments(t, objs) {
			checkNoTLS(t, component, dep)
		}
		if cmd := testPodCommand(t, objs); strings.Contains(cmd, "https://") || strings.Contains(cmd, "--insecure") {
			t.Errorf("helm test Pod without TLS runs %q", cmd)
		}
	})

	svcNames := []string{"scim-scim-operator.scim-system.svc", "scim-scim-operator.scim-system.svc.cluster.local"}
	for _, tc := range []struct {
		reason     string
		values     []string
		set        []string
		secret     string // the Secret the scim pods mount
		wantCert   bool
		wantIssuer map[string]any
		wantDNS    []string
	}{
		{reason: "a given Secret", set: []string{"tls.enabled=true", "tls.secretName=scim-serving"}, secret: "scim-serving"},
		{
			reason: "cert-manager with the default Secret name",
			set: []string{"tls.enabled=true", "tls.certManager.enabled=true", "tls.certManager.issuerRef.name=internal-ca",
				"tls.certManager.dnsNames={scim-scim-operator.scim-system.svc}"}, // listed once, not twice
			secret: "scim-scim-operator-tls", wantCert: true,
			wantIssuer: map[string]any{"name": "internal-ca"}, wantDNS: svcNames,
		},
		{
			reason: "cert-manager in all-features.yaml", values: []string{allFeatures},
			secret: "scim-serving-tls", wantCert: true,
			wantIssuer: map[string]any{"name": "internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
			wantDNS:    append(slices.Clone(svcNames), "scim.example.com"),
		},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			objs := render(t, tc.values, args...)
			deps := deployments(t, objs)
			checkTLSPod(t, deps["scim"], tc.secret)
			checkNoTLS(t, "controllers", deps["controllers"])
			if cmd := testPodCommand(t, objs); !strings.Contains(cmd, "https://scim-scim-operator.scim-system.svc") || !strings.Contains(cmd, "--insecure") {
				t.Errorf("helm test Pod with TLS runs %q, want an HTTPS request", cmd)
			}

			certs := find(objs, "Certificate")
			if !tc.wantCert {
				if len(certs) != 0 {
					t.Errorf("rendered %d Certificates for a given Secret", len(certs))
				}
				return
			}
			cert := one(t, objs, "Certificate")
			if cert.GetAPIVersion() != "cert-manager.io/v1" || cert.GetNamespace() != releaseNamespace {
				t.Errorf("Certificate is %s in %q, want cert-manager.io/v1 in %s", cert.GetAPIVersion(), cert.GetNamespace(), releaseNamespace)
			}
			spec, _, _ := unstructured.NestedMap(cert.Object, "spec")
			if spec["secretName"] != tc.secret {
				t.Errorf("Certificate writes Secret %v, the pods mount %s", spec["secretName"], tc.secret)
			}
			if diff := cmp.Diff(tc.wantIssuer, spec["issuerRef"]); diff != "" {
				t.Errorf("issuerRef (-want +got):\n%s", diff)
			}
			dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
			if diff := cmp.Diff(tc.wantDNS, dns); diff != "" {
				t.Errorf("dnsNames (-want +got):\n%s", diff)
			}
			if policy, _, _ := unstructured.NestedString(cert.Object, "spec", "privateKey", "rotationPolicy"); policy != "Always" {
				t.Errorf("privateKey.rotationPolicy = %q, want Always", policy)
			}
		})
	}

	t.Run("group-only files need a group", func(t *testing.T) {
		for _, tc := range []struct {
			set      []string
			wantMode bool
		}{
			{[]string{"podSecurityContext.fsGroup=null"}, false},                          // 0440 root-owned files: unreadable
			{[]string{"podSecurityContext.fsGroup=null", "openshift.enabled=true"}, true}, // the SCC assigns one
		} {
			args := []string{"--set", "tls.enabled=true", "--set", "tls.secretName=s"}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			pod := deployments(t, render(t, nil, args...))["scim"].Spec.Template.Spec
			for _, v := range pod.Volumes {
				if v.Name == "scim-tls" && (v.Secret.DefaultMode != nil) != tc.wantMode {
					t.Errorf("%v: TLS volume mode %v, want set = %v", tc.set, v.Secret.DefaultMode, tc.wantMode)
				}
			}
		}
	})

	t.Run("lifetime from values", func(t *testing.T) {
		cert := one(t, render(t, []string{allFeatures}), "Certificate")
		duration, _, _ := unstructured.NestedString(cert.Object, "spec", "duration")
		renew, _, _ := unstructured.NestedString(cert.Object, "spec", "renewBefore")
		if duration != "2160h" || renew != "360h" {
			t.Errorf("duration %q renewBefore %q, want all-features.yaml's 2160h and 360h", duration, renew)
		}
	})

	for _, tc := range []struct {
		reason string
		set    []string
		want   string // part of the template's error
	}{
		{"TLS without a Secret", []string{"tls.enabled=true"}, "tls.secretName must name a kubernetes.io/tls Secret"},
		{"a Certificate without TLS", []string{"tls.certManager.enabled=true", "tls.certManager.issuerRef.name=ca"},
			"tls.certManager.enabled needs tls.enabled"},
		{"a Certificate without an issuer", []string{"tls.enabled=true", "tls.certManager.enabled=true"},
			"tls.certManager.issuerRef.name must name"},
	} {
		t.Run("refused: "+tc.reason, func(t *testing.T) {
			var args []string
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := helm(t, nil, templateArgs(nil, args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %q, got %v", tc.want, err)
			}
		})
	}
}

// checkTLSPod checks that the scim pod mounts secret read-only, passes its
// tls.crt and tls.key to the manager, and still probes plain HTTP.
func checkTLSPod(t *testing.T, dep appsv1.Deployment, secret string) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	var vol *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == "scim-tls" {
			vol = &pod.Volumes[i]
		}
	}
	if vol == nil || vol.Secret == nil {
		t.Fatalf("scim pod volumes %v lack the TLS Secret", pod.Volumes)
	}
	wantItems := []corev1.KeyToPath{{Key: "tls.crt", Path: "tls.crt"}, {Key: "tls.key", Path: "tls.key"}}
	if vol.Secret.SecretName != secret || !cmp.Equal(wantItems, vol.Secret.Items) {
		t.Errorf("TLS volume = Secret %s items %v, want Secret %s items %v", vol.Secret.SecretName, vol.Secret.Items, secret, wantItems)
	}
	// The private key is readable by the pod's group alone, which the pod has.
	if m := vol.Secret.DefaultMode; m == nil || *m != 0o440 || pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil {
		t.Errorf("TLS volume mode %v with fsGroup %v, want 0440 files of the pod's fsGroup", vol.Secret.DefaultMode, pod.SecurityContext.FSGroup)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.Name == "scim-tls" && m.MountPath == tlsDir && m.ReadOnly
	}
	if !mounted {
		t.Errorf("scim container mounts %v, want scim-tls read-only at %s", c.VolumeMounts, tlsDir)
	}
	for _, arg := range []string{"--scim-tls-cert-file=" + tlsDir + "/tls.crt", "--scim-tls-key-file=" + tlsDir + "/tls.key"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("scim args %q lack %s", c.Args, arg)
		}
	}
	checkProbes(t, c)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			t.Errorf("probe %s uses HTTPS; the probe port stays plain HTTP", p.HTTPGet.Path)
		}
	}
}

// checkNoTLS fails when a Deployment carries any part of in-pod TLS.
func checkNoTLS(t *testing.T, component string, dep appsv1.Deployment) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	for _, arg := range pod.Containers[0].Args {
		if strings.HasPrefix(arg, "--scim-tls-") {
			t.Errorf("%s: arg %s", component, arg)
		}
	}
	for _, v := range pod.Volumes {
		if v.Name == "scim-tls" {
			t.Errorf("%s: volume %s", component, v.Name)
		}
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.MountPath == tlsDir {
			t.Errorf("%s: mount %s", component, m.MountPath)
		}
	}
}

// testPodCommand returns the shell command of the helm test Pod.
func testPodCommand(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	var pod corev1.Pod
	typed(t, one(t, objs, "Pod"), &pod)
	return strings.Join(pod.Spec.Containers[0].Command, " ")
}
