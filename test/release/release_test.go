// Package release runs `make release` into a temporary folder and checks
// what a user and the release workflow receive: the chart renders with the
// image of the version, the OCI archive holds exactly a linux/amd64 and a
// linux/arm64 image of the right machine code, user 65532 and no shell, the
// SBOM lists the modules the binaries are built from, and SHA256SUMS verifies.
// See docs/releasing.md.
//
// It builds two images (about 2 minutes on 2 cores once the host's build
// cache holds both architectures' packages, 6 the first time), so `go test
// ./...` skips it: `make test-release` runs it.
package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// version is an unreleased version, so that nothing could mistake the
// artifacts for a real release.
const version = "0.0.0-test"

// imageRepository is the chart's default image.repository.
const imageRepository = "ghcr.io/scim-operator/scim-operator"

// TestRelease builds the release artifacts and checks each of them.
func TestRelease(t *testing.T) {
	if os.Getenv("SCIM_RELEASE_TEST") == "" {
		t.Skip("builds the linux/amd64 and linux/arm64 images (minutes): run `make test-release`")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed: the image is not built (apt-get install -y podman runc; .ci/run installs them)")
	}
	dist := t.TempDir()
	start := time.Now()
	cmd := exec.Command("make", "release", "VERSION="+version, "DIST="+dist)
	cmd.Dir = controlplane.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	t.Logf("make release took %s", time.Since(start).Round(time.Second))

	name := filepath.Join(dist, "scim-operator-"+version)
	t.Run("SHA256SUMS", func(t *testing.T) { checkSums(t, dist) })
	t.Run("chart", func(t *testing.T) { checkChart(t, name+".tgz") })
	binaries := map[string][]byte{}
	t.Run("image", func(t *testing.T) { binaries = checkImage(t, name+".oci.tar") })
	t.Run("SBOM", func(t *testing.T) { checkSBOM(t, name+".cdx.json", binaries) })
	t.Run("plugin", func(t *testing.T) { checkPlugins(t, dist) })
}

// checkSums verifies every line of SHA256SUMS and that it names every
// artifact.
func checkSums(t *testing.T, dist string) {
	data, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not `<sha256>  <file>`", sc.Text())
		}
		content, err := os.ReadFile(filepath.Join(dist, file))
		if err != nil {
			t.Fatalf("SHA256SUMS names %s: %v", file, err)
		}
		if got := sha256.Sum256(content); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, SHA256SUMS says %s", file, got, sum)
		}
		named = append(named, file)
	}
	want := []string{"scim-operator-" + version + ".tgz", "scim-operator-" + version + ".oci.tar", "scim-operator-" + version + ".cdx.json"}
	for _, p := range pluginPlatforms {
		want = append(want, pluginArchive(p))
	}
	if strings.Join(named, " ") != strings.Join(want, " ") {
		t.Errorf("SHA256SUMS names %v, want %v", named, want)
	}
}

// checkChart renders the packaged chart with its defaults: it must render,
// carry the version, and run the image tagged with it.
func checkChart(t *testing.T, tgz string) {
	helm := filepath.Join(controlplane.RepoRoot(), "bin", "helm-v3.22.0")
	home := t.TempDir()
	run := func(args ...string) []byte {
		cmd := exec.Command(helm, args...)
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	var meta struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(run("show", "chart", tgz), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Version != version || meta.AppVersion != version {
		t.Errorf("the packaged chart has version %q and appVersion %q, want %q", meta.Version, meta.AppVersion, version)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(run("template", "scim", tgz, "--namespace", "scim-system"))))
	deployments := 0
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var o unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &o.Object); err != nil || o.GetKind() != "Deployment" {
			continue
		}
		deployments++
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if image := c.(map[string]any)["image"]; image != imageRepository+":"+version {
				t.Errorf("Deployment %s runs %v, want %s:%s", o.GetName(), image, imageRepository, version)
			}
		}
	}
	if deployments != 2 {
		t.Errorf("the chart renders %d Deployments, want 2 (SCIM server and controllers)", deployments)
	}
}
