package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// Local stand-ins for the Dockerfile's published bases, which cannot be
// pulled here (see docs/install.md, "Building the image offline").
const (
	builderImage = "localhost/scim-image-test/builder:local"
	baseImage    = "localhost/scim-image-test/static-nonroot:local"
	operatorTag  = "localhost/scim-image-test/scim-operator:test"
)

// builderDockerfile turns the host's Go toolchain and shell into the builder
// base: golang:1.26's layout (GOROOT /usr/local/go, GOPATH /go), with the
// module proxy replaced by the host's module cache, mounted at /goproxy while
// the image builds.
const builderDockerfile = `FROM scratch
COPY . /
ENV PATH=/usr/local/go/bin:/go/bin:/usr/bin:/bin GOPATH=/go HOME=/root GOTOOLCHAIN=local \
    GOPROXY=file:///goproxy GOSUMDB=off
WORKDIR /go
`

// baseDockerfile is distroless/static:nonroot's content that the manager can
// notice: CA certificates, /etc/passwd with nonroot (65532), /tmp, the home.
const baseDockerfile = `FROM scratch
COPY . /
COPY --chown=65532:65532 home/nonroot /home/nonroot
USER 65532:65532
`

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
	p.must(t, "build", "--network=host", "--quiet", "-t", builderImage,
		"-f", writeFile(t, t.TempDir(), "Dockerfile", builderDockerfile), builderContext(t, goEnv("GOROOT")))
	p.must(t, "build", "--network=host", "--quiet", "-t", baseImage,
		"-f", writeFile(t, t.TempDir(), "Dockerfile", baseDockerfile), baseContext(t))
	t.Logf("local bases assembled in %s", time.Since(start).Round(time.Second))

	args := []string{"build", "--network=host", "-t", operatorTag,
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

// builderContext copies GOROOT to usr/local/go and /bin/sh with the shared
// libraries it loads (the Dockerfile's RUN lines run under sh -c).
func builderContext(t *testing.T, goroot string) string {
	t.Helper()
	ctx := t.TempDir()
	copyTo(t, goroot+"/.", filepath.Join(ctx, "usr", "local", "go"))
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	copyTo(t, sh, filepath.Join(ctx, "bin", "sh"))
	for _, lib := range sharedLibraries(t, sh) {
		// The loader's path is often a symbolic link (/lib64 -> usr/lib64).
		copyTo(t, lib, filepath.Join(ctx, lib))
	}
	for _, d := range []string{"tmp", "go", "root"} {
		if err := os.MkdirAll(filepath.Join(ctx, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(ctx, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// ldLine matches the paths in ldd's output: "libc.so.6 => /lib/.../libc.so.6
// (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
var ldLine = regexp.MustCompile(`(?m)(?:=> |^\s*)(/\S+) \(0x[0-9a-f]+\)$`)

// sharedLibraries returns the libraries bin loads; none for a static binary.
func sharedLibraries(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil
		}
		t.Fatalf("ldd %s: %v\n%s", bin, err, out)
	}
	var libs []string
	for _, m := range ldLine.FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
	}
	if len(libs) == 0 {
		t.Fatalf("ldd %s lists no library:\n%s", bin, out)
	}
	return libs
}

// baseContext holds the host's CA bundle, a passwd and group with root and
// nonroot (65532), /tmp and nonroot's home.
func baseContext(t *testing.T) string {
	t.Helper()
	ctx := t.TempDir()
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("the runtime base needs the host's CA certificates: %v (apt-get install -y ca-certificates)", err)
	}
	copyTo(t, bundle, filepath.Join(ctx, bundle))
	etc := filepath.Join(ctx, "etc")
	writeFile(t, etc, "passwd", "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
	writeFile(t, etc, "group", "root:x:0:\nnonroot:x:65532:\n")
	for _, d := range []string{"tmp", "home/nonroot"} {
		if err := os.MkdirAll(filepath.Join(ctx, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(ctx, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// copyTo copies src (a file, or a folder's content with "dir/.") to dst,
// following src if it is a symbolic link; links inside a folder are kept.
func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "-H", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
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
