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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestLifecycleOnAFreshCluster runs a real `helm install`, `helm upgrade` and
// `helm uninstall` against an API server that starts without the CRDs, the
// way a platform team installs the chart: the ScimEndpoints of `endpoints:`
// must apply in the same install that brings their CRD, an upgrade applies
// changed values, the documented CRD upgrade works over Helm's CRDs, and
// uninstall removes the release's objects but keeps the CRDs and every custom
// resource the release did not create. Nothing runs the operator's pods (the
// control plane has no kubelet): the test checks API objects only.
func TestLifecycleOnAFreshCluster(t *testing.T) {
	cp, err := controlplane.Start(controlplane.Options{WithoutCRDs: true,
		AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
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
	crdNames := configCRDNames(t)

	var crd apiextensionsv1.CustomResourceDefinition
	if err := c.Get(ctx, client.ObjectKey{Name: "scimendpoints.scim.scim-operator.io"}, &crd); !apierrors.IsNotFound(err) {
		t.Fatalf("the control plane should start without the CRDs, Get returned %v", err)
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "identity"}}); err != nil {
		t.Fatal(err)
	}

	okta := `
  - name: okta
    tokenSecretRefs: [{name: okta-scim-token, key: token}]
    maxPageSize: %d`
	entra := `
  - name: entra
    namespace: identity
    tokenSecretRefs: [{name: entra-scim-token, key: token}]`
	helmRun := func(args ...string) (string, error) {
		return helm(t, nil, append(args, "--kubeconfig", kubeconfig, "--namespace", releaseNamespace)...)
	}

	t.Run("install", func(t *testing.T) {
		values := writeValues(t, "endpoints:"+strings.Replace(okta, "%d", "500", 1))
		if out, err := helmRun("install", "scim", chartDir, "--create-namespace", "--values", values); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, name := range crdNames {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
				t.Errorf("CRD %s: %v", name, err)
			} else if !established(&crd) {
				t.Errorf("CRD %s is not established", name)
			}
		}
		ep := getEndpoint(t, c, releaseNamespace, "okta")
		if ep.Spec.MaxPageSize != 500 || len(ep.Spec.TokenSecretRefs) != 1 || ep.Spec.TokenSecretRefs[0].Name != "okta-scim-token" {
			t.Errorf("ScimEndpoint okta does not hold the values: %+v", ep.Spec)
		}
		var deploy appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "scim-scim-operator-scim"}, &deploy); err != nil {
			t.Errorf("the SCIM Deployment: %v", err)
		}
	})

	// A custom resource the release did not create, as a platform team's
	// binding would be.
	binding := &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: releaseNamespace, Name: "devs-view"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "devs"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}}
	if err := c.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}

	t.Run("upgrade applies changed endpoints", func(t *testing.T) {
		values := writeValues(t, "endpoints:"+strings.Replace(okta, "%d", "200", 1)+entra)
		if out, err := helmRun("upgrade", "scim", chartDir, "--values", values); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if ep := getEndpoint(t, c, releaseNamespace, "okta"); ep.Spec.MaxPageSize != 200 {
			t.Errorf("okta's maxPageSize is %d after the upgrade, want 200", ep.Spec.MaxPageSize)
		}
		if ep := getEndpoint(t, c, "identity", "entra"); ep.Spec.TokenSecretRefs[0].Name != "entra-scim-token" {
			t.Errorf("ScimEndpoint identity/entra does not hold the values: %+v", ep.Spec)
		}
	})

	// docs/install.md: Helm never upgrades crds/, the platform team applies
	// them. A column removed by another writer comes back, over the field
	// ownership Helm's create left.
	t.Run("the documented CRD upgrade", func(t *testing.T) {
		key := client.ObjectKey{Name: "scimendpoints.scim.scim-operator.io"}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, key, &crd); err != nil {
			t.Fatal(err)
		}
		columns := len(crd.Spec.Versions[0].AdditionalPrinterColumns)
		crd.Spec.Versions[0].AdditionalPrinterColumns = crd.Spec.Versions[0].AdditionalPrinterColumns[:1]
		if err := c.Update(ctx, &crd, client.FieldOwner("someone-else")); err != nil {
			t.Fatal(err)
		}
		crds, err := helm(t, nil, "show", "crds", chartDir)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(controlplane.Kubectl(), "--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-")
		cmd.Stdin = strings.NewReader(crds)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply of `helm show crds`: %v\n%s", err, out)
		}
		if err := c.Get(ctx, key, &crd); err != nil {
			t.Fatal(err)
		}
		if n := len(crd.Spec.Versions[0].AdditionalPrinterColumns); n != columns {
			t.Errorf("after the apply the CRD has %d printer columns, want %d", n, columns)
		}
	})

	// A CRD a chart 0.1 release owned without helm.sh/resource-policy: keep
	// would be deleted by the upgrade that moves the CRDs to crds/: the chart
	// refuses until the CRD is marked keep.
	t.Run("an upgrade that would delete a CRD is refused", func(t *testing.T) {
		name := "scimusers.scim.scim-operator.io"
		annotate(t, kubeconfig, name, "meta.helm.sh/release-name=scim", "meta.helm.sh/release-namespace="+releaseNamespace)
		out, err := helmRun("upgrade", "scim", chartDir, "--reuse-values")
		if err == nil || !strings.Contains(err.Error(), "CRD "+name+" belongs to release scim") {
			t.Fatalf("want the upgrade refused, got err=%v\n%s", err, out)
		}
		annotate(t, kubeconfig, name, "helm.sh/resource-policy=keep")
		if out, err := helmRun("upgrade", "scim", chartDir, "--reuse-values"); err != nil {
			t.Fatalf("the upgrade is refused once the CRD is kept: %v\n%s", err, out)
		}
	})

	t.Run("uninstall keeps the CRDs", func(t *testing.T) {
		if out, err := helmRun("uninstall", "scim"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		testharness.Eventually(t, 30*time.Second, func() string {
			var problems []string
			for _, key := range []client.ObjectKey{{Namespace: releaseNamespace, Name: "okta"}, {Namespace: "identity", Name: "entra"}} {
				err := c.Get(ctx, key, &scimv1.ScimEndpoint{})
				if !apierrors.IsNotFound(err) {
					problems = append(problems, "ScimEndpoint "+key.String()+" still exists")
				}
			}
			err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "scim-scim-operator-scim"}, &appsv1.Deployment{})
			if !apierrors.IsNotFound(err) {
				problems = append(problems, "the SCIM Deployment still exists")
			}
			return strings.Join(problems, "; ")
		})
		for _, name := range crdNames {
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
				t.Errorf("CRD %s after uninstall: %v", name, err)
			}
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(binding), &scimv1.ScimRoleBinding{}); err != nil {
			t.Errorf("the ScimRoleBinding the release did not create: %v", err)
		}
	})
}

// configCRDNames returns the names of the CRDs in config/crd/bases.
func configCRDNames(t *testing.T) []string {
	t.Helper()
	sources, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, src := range sources {
		var crd apiextensionsv1.CustomResourceDefinition
		readYAML(t, src, &crd)
		names = append(names, crd.Name)
	}
	if len(names) == 0 {
		t.Fatal("config/crd/bases holds no CRD")
	}
	return names
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

func getEndpoint(t *testing.T, c client.Client, ns, name string) *scimv1.ScimEndpoint {
	t.Helper()
	var ep scimv1.ScimEndpoint
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &ep); err != nil {
		t.Fatalf("ScimEndpoint %s/%s: %v", ns, name, err)
	}
	return &ep
}

// writeValues writes a values file and returns its path.
func writeValues(t *testing.T, values string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(values+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// annotate sets annotations on a CRD with kubectl.
func annotate(t *testing.T, kubeconfig, crd string, annotations ...string) {
	t.Helper()
	args := append([]string{"--kubeconfig", kubeconfig, "annotate", "--overwrite", "crd", crd}, annotations...)
	var out bytes.Buffer
	cmd := exec.Command(controlplane.Kubectl(), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl annotate: %v\n%s", err, out.String())
	}
}
