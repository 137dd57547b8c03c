// Package chart tests the Helm chart in charts/scim-operator with the Helm
// binary `make helm` builds into bin/: lint, schema, rendered objects, drift
// from the generated manifests in config/, and a server-side dry-run apply of
// the rendered manifests against the real kube-apiserver.
package chart

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// helmVersion is the Helm the Makefile builds (HELM_VERSION).
const helmVersion = "v3.22.0"

// releaseNamespace is the namespace every test installs the chart into.
const releaseNamespace = "scim-system"

var (
	chartDir = filepath.Join(controlplane.RepoRoot(), "charts", "scim-operator")
	// helmHome keeps Helm's cache, config and data out of $HOME.
	helmHome string

	// The control plane is started by the first test that needs it.
	cpOnce sync.Once
	cp     *controlplane.ControlPlane
	cpErr  error
)

func TestMain(m *testing.M) {
	var err error
	if helmHome, err = os.MkdirTemp("", "scim-chart-helm-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if cp != nil {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping control plane:", err)
		}
	}
	_ = os.RemoveAll(helmHome)
	os.Exit(code)
}

// controlPlane returns the package's control plane, starting it on first use.
func controlPlane(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	cpOnce.Do(func() {
		cp, cpErr = controlplane.Start(controlplane.Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	})
	if cpErr != nil {
		t.Fatalf("control plane: %v", cpErr)
	}
	return cp
}

// helmBinary returns bin/helm-<version>, failing the test when it is missing.
func helmBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(controlplane.RepoRoot(), "bin", "helm-"+helmVersion)
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("Helm %s not found at %s: run `make helm` (it builds Helm from the Go module proxy; `make test` does it first)", helmVersion, bin)
	}
	return bin
}

// helm runs Helm and returns its stdout, or an error carrying its stderr.
func helm(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// testdata returns the path of a file under testdata.
func testdata(name string) string { return filepath.Join("testdata", name) }

// templateArgs returns `helm template` arguments for the release "scim" in
// releaseNamespace with the given values files and extra flags.
func templateArgs(valuesFiles []string, extra ...string) []string {
	args := []string{"template", "scim", chartDir, "--namespace", releaseNamespace}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	return append(args, extra...)
}

// render runs `helm template` and returns the rendered objects.
func render(t testing.TB, valuesFiles []string, extra ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, nil, templateArgs(valuesFiles, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// decodeManifests splits a multi-document YAML stream into objects, skipping
// documents that hold only comments.
func decodeManifests(stream string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("decoding %q: %w", doc, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// find returns the rendered objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single rendered object of a kind.
func one(t testing.TB, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := find(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, rendered %d", kind, len(found))
	}
	return found[0]
}

// typed converts a rendered object into a typed API object, refusing
// fields the type does not have.
func typed(t testing.TB, o *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// toYAML encodes objects as one multi-document YAML stream.
func toYAML(t testing.TB, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes()
}

// readYAML decodes one YAML file into v.
func readYAML(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// release is the part of `helm install --dry-run -o json` the tests read.
type release struct {
	Manifest string `json:"manifest"`
	Hooks    []struct {
		Manifest string `json:"manifest"`
	} `json:"hooks"`
	Info struct {
		Notes string `json:"notes"`
	} `json:"info"`
}

// objects returns the release's rendered objects, hooks included.
func (r release) objects() ([]*unstructured.Unstructured, error) {
	all := r.Manifest
	for _, h := range r.Hooks {
		all += "\n---\n" + h.Manifest
	}
	return decodeManifests(all)
}

// installDryRun runs `helm install --dry-run=server` against the control
// plane: Helm reads the cluster's API versions (the ServiceMonitor check) and
// resolves any lookup against it, but creates nothing. The CRDs (crds/) are
// the ones the control plane was started with.
func installDryRun(t *testing.T, kubeconfig string, valuesFiles []string) (release, string) {
	t.Helper()
	args := []string{"install", "scim", chartDir, "--namespace", releaseNamespace,
		"--dry-run=server", "--output", "json", "--kubeconfig", kubeconfig}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	out, err := helm(t, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	var rel release
	if err := json.Unmarshal([]byte(out), &rel); err != nil {
		t.Fatalf("helm install --dry-run output is not a release: %v\n%s", err, out)
	}
	return rel, out
}
