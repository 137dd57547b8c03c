package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// TestChartManifestsInSync fails when config/ was regenerated but the chart's
// copies were not: hack/sync-chart.sh, run into an empty folder, must produce
// exactly the chart's generated files.
func TestChartManifestsInSync(t *testing.T) {
	fresh := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(controlplane.RepoRoot(), "hack", "sync-chart.sh"), fresh)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/sync-chart.sh: %v\n%s", err, out)
	}
	want := generatedFiles(t, fresh)
	got := generatedFiles(t, chartDir)
	if len(want) == 0 {
		t.Fatal("hack/sync-chart.sh generated nothing")
	}
	if diff := cmp.Diff(keys(want), keys(got)); diff != "" {
		t.Errorf("generated chart files differ from config/ (-want +got); run `make chart-manifests`:\n%s", diff)
	}
	for name, data := range want {
		if got, ok := got[name]; ok && !bytes.Equal(data, got) {
			t.Errorf("%s is stale; run `make chart-manifests`", name)
		}
	}
}

// generatedFiles reads the chart files hack/sync-chart.sh writes.
func generatedFiles(t *testing.T, chart string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(chart, "templates", "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, filepath.Join(chart, "templates", "clusterrole.yaml"),
		filepath.Join(chart, "templates", "leader-election-role.yaml"))
	files := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(chart, p)
		files[rel] = data
	}
	return files
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRenderedCRDsEqualConfig renders the chart and compares every CRD with
// its source in config/crd/bases, once the chart's own labels and the keep
// annotation are taken off: the chart installs exactly what controller-gen
// generated, no more and no fewer kinds.
func TestRenderedCRDsEqualConfig(t *testing.T) {
	sources, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]apiextensionsv1.CustomResourceDefinition{}
	for _, src := range sources {
		var crd apiextensionsv1.CustomResourceDefinition
		readYAML(t, src, &crd)
		want[crd.Name] = crd
	}

	rendered := find(render(t, nil), "CustomResourceDefinition")
	if len(rendered) != len(want) {
		t.Errorf("chart renders %d CRDs, config/crd/bases has %d", len(rendered), len(want))
	}
	for _, o := range rendered {
		var crd apiextensionsv1.CustomResourceDefinition
		typed(t, o, &crd)
		if crd.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep (crds.keep defaults to true)", crd.Name)
		}
		if crd.Labels["app.kubernetes.io/part-of"] != "scim-operator" {
			t.Errorf("CRD %s lacks the chart's labels: %v", crd.Name, crd.Labels)
		}
		delete(crd.Annotations, "helm.sh/resource-policy")
		crd.Labels = nil
		if diff := cmp.Diff(want[crd.Name], crd); diff != "" {
			t.Errorf("CRD %s differs from config/crd/bases (-config +chart):\n%s", crd.Name, diff)
		}
	}

	t.Run("crds.keep=false", func(t *testing.T) {
		for _, o := range find(render(t, nil, "--set", "crds.keep=false"), "CustomResourceDefinition") {
			if _, ok := o.GetAnnotations()["helm.sh/resource-policy"]; ok {
				t.Errorf("CRD %s keeps the resource-policy annotation", o.GetName())
			}
		}
	})
	t.Run("crds.enabled=false", func(t *testing.T) {
		if n := len(find(render(t, nil, "--set", "crds.enabled=false"), "CustomResourceDefinition")); n != 0 {
			t.Errorf("rendered %d CRDs with crds.enabled=false", n)
		}
	})
}

// TestRenderedRBACEqualsConfig: the chart's ClusterRole plus its leader
// election Role grant exactly the rules controller-gen generated into
// config/rbac/role.yaml, with Leases granted in the Lease's namespace only.
func TestRenderedRBACEqualsConfig(t *testing.T) {
	var generated rbacv1.ClusterRole
	readYAML(t, filepath.Join(controlplane.RepoRoot(), "config", "rbac", "role.yaml"), &generated)

	objs := render(t, nil)
	var cr rbacv1.ClusterRole
	typed(t, one(t, objs, "ClusterRole"), &cr)
	var role rbacv1.Role
	typed(t, one(t, objs, "Role"), &role)

	for _, r := range cr.Rules {
		for _, g := range r.APIGroups {
			if g == "coordination.k8s.io" {
				t.Errorf("ClusterRole grants %v cluster-wide; Leases belong in the namespaced Role", r)
			}
		}
	}
	if role.Namespace != releaseNamespace {
		t.Errorf("leader election Role is in %q, want the release namespace %q", role.Namespace, releaseNamespace)
	}
	got := append(append([]rbacv1.PolicyRule{}, cr.Rules...), role.Rules...)
	if diff := cmp.Diff(sortRules(generated.Rules), sortRules(got)); diff != "" {
		t.Errorf("chart RBAC differs from config/rbac/role.yaml (-config +chart); run `make chart-manifests`:\n%s", diff)
	}

	var binding rbacv1.ClusterRoleBinding
	typed(t, one(t, objs, "ClusterRoleBinding"), &binding)
	saName := one(t, objs, "ServiceAccount").GetName()
	if binding.RoleRef.Name != cr.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Name != saName ||
		binding.Subjects[0].Namespace != releaseNamespace {
		t.Errorf("ClusterRoleBinding %+v does not bind ClusterRole %s to ServiceAccount %s/%s", binding, cr.Name, releaseNamespace, saName)
	}
}

// sortRules orders rules so that two lists granting the same rules compare equal.
func sortRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := append([]rbacv1.PolicyRule{}, rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
