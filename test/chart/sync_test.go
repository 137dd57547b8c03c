package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
	paths, err := filepath.Glob(filepath.Join(chart, "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	roles, err := filepath.Glob(filepath.Join(chart, "templates", "rbac", "*-*role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(append(paths, roles...), filepath.Join(chart, "templates", "leader-election-role.yaml"))
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

// TestChartCRDsEqualConfig compares every CRD `helm show crds` prints — what
// Helm installs from crds/, and what docs/install.md applies before an
// upgrade — with its source in config/crd/bases, once the chart's label is
// taken off: the chart installs exactly what controller-gen generated, no
// more and no fewer kinds, and renders none as a template.
func TestChartCRDsEqualConfig(t *testing.T) {
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

	out, err := helm(t, nil, "show", "crds", chartDir)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != len(want) {
		t.Errorf("the chart holds %d CRDs, config/crd/bases %d", len(shown), len(want))
	}
	for _, o := range shown {
		var crd apiextensionsv1.CustomResourceDefinition
		typed(t, o, &crd)
		if crd.Labels["app.kubernetes.io/part-of"] != "scim-operator" {
			t.Errorf("CRD %s lacks the label app.kubernetes.io/part-of: %v", crd.Name, crd.Labels)
		}
		crd.Labels = nil
		if diff := cmp.Diff(want[crd.Name], crd); diff != "" {
			t.Errorf("CRD %s differs from config/crd/bases (-config +chart):\n%s", crd.Name, diff)
		}
	}
	if n := len(find(render(t, nil), "CustomResourceDefinition")); n != 0 {
		t.Errorf("the chart renders %d CRDs as templates; Helm would install them in the same step as the ScimEndpoints", n)
	}
}

// TestRenderedRBACEqualsConfig: for each component, the chart's ClusterRole,
// its Secret Roles and (controllers) the leader election Role grant exactly the
// rules controller-gen generated into config/rbac/<component>/role.yaml, with
// Leases granted in the Lease's namespace only, (scim) the pods of its own
// Deployment in the release's namespace only, Secrets in the Secret
// namespaces only, and bind limited to the allow-list by resourceNames.
func TestRenderedRBACEqualsConfig(t *testing.T) {
	objs := render(t, nil, "--set", "secretNamespaces={identity}")
	var lease rbacv1.Role
	typed(t, named(t, objs, "Role", "scim-scim-operator-leader-election"), &lease)
	if lease.Namespace != releaseNamespace {
		t.Errorf("leader election Role is in %q, want the release namespace %q", lease.Namespace, releaseNamespace)
	}
	for _, component := range []string{"scim", "controllers"} {
		t.Run(component, func(t *testing.T) {
			var generated []rbacv1.PolicyRule
			for _, o := range readObjects(t, filepath.Join(controlplane.RepoRoot(), "config", "rbac", component, "role.yaml")) {
				var role rbacv1.ClusterRole
				typed(t, o, &role)
				if o.GetKind() == "ClusterRole" {
					for _, r := range role.Rules {
						if slices.Contains(r.Resources, "secrets") {
							t.Errorf("config/rbac/%s/role.yaml grants Secrets cluster-wide: %v", component, r)
						}
						// Installed without the chart, the SCIM server (the part
						// facing the IdP) reads the pods of its own Deployment
						// only (BRIEF §4.1), not every pod of the cluster.
						if slices.Contains(r.Resources, "pods") {
							t.Errorf("config/rbac/%s/role.yaml grants Pods cluster-wide: %v", component, r)
						}
					}
				}
				generated = append(generated, role.Rules...)
			}

			var cr rbacv1.ClusterRole
			typed(t, named(t, objs, "ClusterRole", "scim-scim-operator-"+component), &cr)
			got := []rbacv1.PolicyRule{}
			for _, r := range cr.Rules {
				switch {
				case slices.Contains(r.APIGroups, "coordination.k8s.io"):
					t.Errorf("ClusterRole grants %v cluster-wide; Leases belong in the namespaced Role", r)
				case slices.Contains(r.Resources, "secrets"):
					t.Errorf("ClusterRole grants %v cluster-wide; Secrets belong in the namespaced Roles", r)
				case slices.Contains(r.Resources, "pods"):
					t.Errorf("ClusterRole grants %v cluster-wide; Pods belong in the release namespace's Role", r)
				case slices.Contains(r.Verbs, "bind"):
					// Rendered from rbac.allowedRoles; generated without names.
					if len(r.ResourceNames) == 0 {
						t.Errorf("bind rule %v has no resourceNames with the default allow-list", r)
					}
					r.ResourceNames = nil
				}
				got = append(got, r)
			}
			if component == "controllers" {
				got = append(got, lease.Rules...)
			} else {
				var peers rbacv1.Role
				typed(t, namedIn(t, objs, "Role", releaseNamespace, "scim-scim-operator-scim-peers"), &peers)
				got = append(got, peers.Rules...)
			}
			for _, ns := range []string{releaseNamespace, "identity"} {
				var role rbacv1.Role
				typed(t, namedIn(t, objs, "Role", ns, "scim-scim-operator-"+component+"-secrets"), &role)
				for _, r := range role.Rules {
					if !slices.Equal(r.Resources, []string{"secrets"}) {
						t.Errorf("Secret Role in %s grants %v", ns, r)
					}
				}
				if ns == releaseNamespace {
					got = append(got, role.Rules...)
				}
			}
			// The generated bind rule names clusterroles and roles; the
			// default allow-list has ClusterRoles only.
			want := []rbacv1.PolicyRule{}
			for _, r := range generated {
				if slices.Contains(r.Verbs, "bind") {
					r.Resources = []string{"clusterroles"}
				}
				want = append(want, r)
			}
			if diff := cmpRules(want, got); diff != "" {
				t.Errorf("chart RBAC differs from config/rbac/%s/role.yaml (-config +chart); run `make chart-manifests`:\n%s", component, diff)
			}

			sa := "scim-scim-operator-" + component
			var binding rbacv1.ClusterRoleBinding
			typed(t, named(t, objs, "ClusterRoleBinding", "scim-scim-operator-"+component), &binding)
			if binding.RoleRef.Name != cr.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Name != sa ||
				binding.Subjects[0].Namespace != releaseNamespace {
				t.Errorf("ClusterRoleBinding %+v does not bind ClusterRole %s to ServiceAccount %s/%s", binding, cr.Name, releaseNamespace, sa)
			}
		})
	}
}

// cmpRules compares two rule lists regardless of order.
func cmpRules(want, got []rbacv1.PolicyRule) string {
	return cmp.Diff(sortRules(want), sortRules(got))
}

// readObjects decodes a multi-document YAML file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(string(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}

// named returns the rendered object of a kind and name.
func named(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	return namedIn(t, objs, kind, "", name)
}

// namedIn returns the rendered object of a kind, namespace ("" for any) and name.
func namedIn(t testing.TB, objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range find(objs, kind) {
		if o.GetName() == name && (namespace == "" || o.GetNamespace() == namespace) {
			return o
		}
	}
	t.Fatalf("no %s %s/%s rendered", kind, namespace, name)
	return nil
}

// sortRules orders rules so that two lists granting the same rules compare equal.
func sortRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := append([]rbacv1.PolicyRule{}, rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
