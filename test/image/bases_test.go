package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// Local stand-ins for the Dockerfile's published bases, which cannot be
// pulled here, assembled from the host by hack/bases.sh (see docs/install.md,
// "Building the image offline").
const (
	builderImage = "localhost/scim-image-test/builder:local"
	baseImage    = "localhost/scim-image-test/static-nonroot:local"
	operatorTag  = "localhost/scim-image-test/scim-operator:test"
)

// buildImage assembles the two bases and builds the repository's Dockerfile
// with them, returning the operator image's tag. The host's module cache
// serves `go mod download` and the host's build cache is mounted as an
// overlay, so compiled packages are reused and the host's cache is not written.
func buildImage(t *testing.T, p *podman) string {
	t.Helper()
	root := controlplane.RepoRoot()
	goEnv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	// `go mod download` in the builder needs every go.mod of the module
	// graph; the host's cache may lack some that builds never read.
	download := exec.Command("go", "mod", "download")
	download.Dir = root
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download on the host (fills the module cache the image build reads): %v\n%s", err, out)
	}

	start := time.Now()
	bases := exec.Command(filepath.Join(root, "hack", "bases.sh"), builderImage, baseImage)
	bases.Env = append(p.env(), "PODMAN="+strings.Join(p.commandLine(), " "))
	if out, err := bases.CombinedOutput(); err != nil {
		t.Fatalf("hack/bases.sh: %v\n%s", err, out)
	}
	t.Logf("local bases assembled in %s", time.Since(start).Round(time.Second))

	args := []string{"build", "--network=host", "--pull=never", "-t", operatorTag,
		"--build-arg", "BUILDER_IMAGE=" + builderImage, "--build-arg", "BASE_IMAGE=" + baseImage,
		// podman, unlike BuildKit, does not set TARGETARCH.
		"--build-arg", "TARGETARCH=" + runtime.GOARCH,
		"-v", filepath.Join(goEnv("GOMODCACHE"), "cache", "download") + ":/goproxy:ro"}
	// Without the host's build cache the build takes minutes on 2 cores.
	// TestImageBuild, which runs first, compiles the same packages with the
	// same flags into it.
	if cache := goEnv("GOCACHE"); filepath.IsAbs(cache) {
		if _, err := os.Stat(cache); err == nil {
			args = append(args, "-v", cache+":/root/.cache/go-build:O")
		}
	}
	start = time.Now()
	p.must(t, append(args, "-f", filepath.Join(root, "Dockerfile"), root)...)
	t.Logf("Dockerfile built in %s", time.Since(start).Round(time.Second))
	return operatorTag
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
