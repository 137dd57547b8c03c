package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// TestRenderKubeVersion: the chart renders on the oldest Kubernetes it
// declares, with its admission policies, and Helm refuses the version before
// it even with the policies off — so the guides may not offer that way out.
// docs/install.md and README.md state the same minimum as Chart.yaml.
func TestRenderKubeVersion(t *testing.T) {
	var chart struct {
		KubeVersion string `json:"kubeVersion"`
	}
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &chart); err != nil {
		t.Fatal(err)
	}
	const oldest, older = "1.30", "1.29"
	if chart.KubeVersion != ">="+oldest+".0-0" {
		t.Fatalf("Chart.yaml kubeVersion = %q; update this test and the guides together", chart.KubeVersion)
	}

	objs := render(t, nil, "--kube-version", oldest+".0")
	policies := 0
	for _, o := range objs {
		if o.GetKind() == "ValidatingAdmissionPolicy" {
			policies++
		}
	}
	if policies != 2 {
		t.Errorf("on Kubernetes %s.0: %d ValidatingAdmissionPolicies rendered, want 2", oldest, policies)
	}

	for _, extra := range [][]string{nil, {"--set", "admissionPolicies.enabled=false"}} {
		args := append([]string{"--kube-version", older + ".0"}, extra...)
		_, err := helm(t, nil, templateArgs(nil, args...)...)
		if err == nil || !strings.Contains(err.Error(), "chart requires kubeVersion") {
			t.Errorf("helm template %v: want the chart's kubeVersion refusal, got %v", args, err)
		}
	}

	for _, doc := range []string{"docs/install.md", "README.md"} {
		text, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), "Kubernetes "+oldest+" or later") {
			t.Errorf("%s does not say %q", doc, "Kubernetes "+oldest+" or later")
		}
		if strings.Contains(string(text), "Kubernetes "+older) {
			t.Errorf("%s still mentions Kubernetes %s, which the chart refuses", doc, older)
		}
	}
}
