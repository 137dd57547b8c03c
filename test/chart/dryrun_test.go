package chart

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// knownTokens are the values of the token Secrets that all-features.yaml
// references; none of them may appear in anything the chart renders.
var knownTokens = map[string]map[string]string{
	releaseNamespace + "/okta-scim-token":      {"token": "okta-token-6b1f0c3e9a7d4e21b8c5f2a0d9e7c6b4"},
	releaseNamespace + "/okta-scim-token-next": {"token": "okta-next-3e8a1d6f0b2c4a9e7d5f1c3b8a6e0d2f"},
	"identity/entra-scim-token":                {"secret-token": "entra-token-9c2e7a4f1d0b3e6a8c5d2f7b1e4a0c9d"},
}

// TestServerSideDryRun installs the chart's CRDs into the real kube-apiserver,
// then server-side dry-run applies everything else it renders — with default
// values and with every optional feature on — in namespaces that enforce the
// restricted Pod Security Standard. The API server validates every field, the
// ScimEndpoints against the chart's CRDs, and the pods' security settings.
func TestServerSideDryRun(t *testing.T) {
	cp := controlPlane(t)
	kubeconfig := writeKubeconfig(t, cp)
	scheme := controlplane.Scheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{releaseNamespace, "identity"} {
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted",
			"pod-security.kubernetes.io/warn":    "restricted",
		}}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for key, data := range knownTokens {
		ns, name, _ := strings.Cut(key, "/")
		err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{scimv1.LabelTokenSecret: "true"}}, StringData: data})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}

	// all-features.yaml renders a cert-manager Certificate, which Helm must
	// map to an API to install; the chart renders it without a capability
	// check (helm lint has no API versions to offer).
	installCRDStub(t, c, "certificate-crd-stub.yaml")

	// Before the ServiceMonitor CRD exists: Helm asks the API server which APIs
	// it serves, and serviceMonitor.enabled must render nothing but a warning.
	t.Run("serviceMonitor.enabled without the ServiceMonitor API", func(t *testing.T) {
		rel, raw := installDryRun(t, kubeconfig, []string{allFeatures})
		objs, err := rel.objects()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(find(objs, "ServiceMonitor")); n != 0 {
			t.Errorf("rendered %d ServiceMonitors on a cluster without the API", n)
		}
		t.Logf("NOTES.txt:\n%s", rel.Info.Notes)
		if !strings.Contains(rel.Info.Notes, "serviceMonitor.enabled is true but this cluster does not serve") {
			t.Errorf("NOTES do not warn about the missing ServiceMonitor API:\n%s", rel.Info.Notes)
		}
		checkNoTokens(t, objs, raw)
	})

	t.Run("NOTES with default values", func(t *testing.T) {
		rel, raw := installDryRun(t, kubeconfig, nil)
		objs, err := rel.objects()
		if err != nil {
			t.Fatal(err)
		}
		checkNoTokens(t, objs, raw)
		for _, want := range []string{"http://scim-scim-operator.scim-system.svc:80/scim/v2/<namespace>/<name>",
			"port-forward svc/scim-scim-operator", "Create Users, Update User Attributes, Deactivate Users",
			"Tenant URL = the base URL"} {
			if !strings.Contains(rel.Info.Notes, want) {
				t.Errorf("NOTES lack %q:\n%s", want, rel.Info.Notes)
			}
		}
	})

	// Helm asks the API server which APIs it serves: without the HTTPRoute API,
	// httpRoute.enabled must stop the install with a message saying so.
	t.Run("httpRoute.enabled without the HTTPRoute API", func(t *testing.T) {
		args := []string{"install", "scim", chartDir, "--namespace", releaseNamespace, "--dry-run=server",
			"--kubeconfig", kubeconfig, "--values", allFeatures, "--values", gateway}
		out, err := helm(t, nil, args...)
		if err == nil || !strings.Contains(err.Error(), "does not serve gateway.networking.k8s.io/v1 HTTPRoute") {
			t.Errorf("want the install refused for the missing HTTPRoute API, got err=%v:\n%s", err, out)
		}
	})

	installCRDStub(t, c, "servicemonitor-crd-stub.yaml")
	installCRDStub(t, c, "httproute-crd-stub.yaml")

	t.Run("serviceMonitor and httpRoute enabled with their APIs", func(t *testing.T) {
		rel, raw := installDryRun(t, kubeconfig, []string{allFeatures, gateway})
		objs, err := rel.objects()
		if err != nil {
			t.Fatal(err)
		}
		one(t, objs, "ServiceMonitor")
		one(t, objs, "HTTPRoute")
		checkNoTokens(t, objs, raw)
		t.Logf("NOTES.txt:\n%s", rel.Info.Notes)
		for _, want := range []string{"https://scim.example.com/scim/v2/<namespace>/<name>",
			"kubectl -n scim-system get secret okta-scim-token -o jsonpath='{.data.token}' | base64 -d",
			"Create Users, Update User Attributes, Deactivate Users",
			"issued by cert-manager Certificate scim-scim-operator-scim",
			"nginx.ingress.kubernetes.io/backend-protocol: HTTPS", "create a BackendTLSPolicy"} {
			if !strings.Contains(rel.Info.Notes, want) {
				t.Errorf("NOTES lack %q:\n%s", want, rel.Info.Notes)
			}
		}
	})

	for _, tc := range []struct {
		reason string
		values []string
	}{
		{"default values", nil},
		{"every optional feature on", []string{allFeatures, gateway}},
	} {
		t.Run("apply "+tc.reason, func(t *testing.T) {
			objs := render(t, tc.values, withServiceMonitorAPI, withHTTPRouteAPI, "--include-crds")
			var crds, rest []*unstructured.Unstructured
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					crds = append(crds, o)
				} else {
					rest = append(rest, o)
				}
			}
			if len(crds) == 0 || len(rest) == 0 {
				t.Fatalf("rendered %d CRDs and %d other objects", len(crds), len(rest))
			}
			// CRDs first, for real, so the custom resources below are
			// validated against exactly the chart's CRDs.
			kubectlApply(t, kubeconfig, toYAML(t, crds), false)
			kubectlApply(t, kubeconfig, toYAML(t, rest), true)
		})
	}

	// The dry run has teeth: the same objects with privilege escalation
	// allowed are refused (the test Pod) or warned about (the Deployment).
	t.Run("a weakened securityContext is refused", func(t *testing.T) {
		objs := render(t, nil, "--set", "securityContext.allowPrivilegeEscalation=true")
		_, stderr, err := tryApply(kubeconfig, toYAML(t, objs), true)
		if err == nil || !strings.Contains(stderr, "violates PodSecurity") || !strings.Contains(stderr, "would violate PodSecurity") {
			t.Errorf("want the test Pod refused and the Deployment warned about, got err=%v:\n%s", err, stderr)
		}
	})
}

// checkNoTokens fails when a rendered object is a Secret, carries Secret-like
// data, or when any known token value appears anywhere in Helm's output.
func checkNoTokens(t *testing.T, objs []*unstructured.Unstructured, raw string) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("the chart renders Secret %s/%s", o.GetNamespace(), o.GetName())
		}
		for _, field := range []string{"data", "stringData"} {
			if _, ok := o.Object[field]; ok && !isDashboard(o, field) {
				t.Errorf("%s %s has a %s field", o.GetKind(), o.GetName(), field)
			}
		}
	}
	for key, data := range knownTokens {
		for _, token := range data {
			if strings.Contains(raw, token) {
				t.Errorf("the token of Secret %s appears in the rendered release", key)
			}
		}
	}
}

// isDashboard reports whether field of o is the data of the Grafana dashboard
// ConfigMap: exactly one key, the dashboard JSON from dashboards/.
func isDashboard(o *unstructured.Unstructured, field string) bool {
	data, _, _ := unstructured.NestedStringMap(o.Object, "data")
	_, ok := data["scim-operator.json"]
	return o.GetKind() == "ConfigMap" && field == "data" && len(data) == 1 && ok
}

// installCRDStub installs the stand-in CRD testdata/<file> and waits until the
// API server serves it.
func installCRDStub(t *testing.T, c client.Client, file string) {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	readYAML(t, testdata(file), &crd)
	ctx := context.Background()
	if err := c.Create(ctx, &crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var got apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKeyFromObject(&crd), &got); err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("stub CRD %s never became established: %v", crd.Name, err)
	}
}

// writeKubeconfig writes a cluster-admin kubeconfig for the control plane.
func writeKubeconfig(t *testing.T, cp *controlplane.ControlPlane) string {
	t.Helper()
	data, err := cp.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectlApply server-side applies manifests with the built kubectl, as a
// server-side dry run when dryRun is set, and fails the test on an error or a
// warning: the API server warns when a workload's pod template would violate
// the namespace's Pod Security Standard.
func kubectlApply(t *testing.T, kubeconfig string, manifests []byte, dryRun bool) {
	t.Helper()
	stdout, stderr, err := tryApply(kubeconfig, manifests, dryRun)
	if err != nil {
		t.Fatalf("kubectl apply: %v\n%s%s", err, stdout, stderr)
	}
	if strings.Contains(stderr, "Warning") {
		t.Errorf("kubectl apply warned:\n%s", stderr)
	}
	t.Logf("kubectl apply (dry run %v):\n%s", dryRun, stdout)
}

// tryApply runs kubectl apply --server-side and returns its output.
func tryApply(kubeconfig string, manifests []byte, dryRun bool) (stdout, stderr string, err error) {
	args := []string{"--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=scim-chart-test",
		"--validate=strict", "-f", "-"}
	if dryRun {
		args = append(args, "--dry-run=server")
	}
	cmd := exec.Command(controlplane.Kubectl(), args...)
	cmd.Stdin = bytes.NewReader(manifests)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}
