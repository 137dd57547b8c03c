package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pluginPlatforms are the platforms `make release` builds kubectl-scim for.
var pluginPlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}

func pluginArchive(platform string) string {
	return "kubectl-scim-" + version + "-" + strings.ReplaceAll(platform, "/", "-") + ".tar.gz"
}

// checkPlugins opens each plugin archive: it holds kubectl-scim, built for
// its platform, and the LICENSE; the one for this machine runs.
func checkPlugins(t *testing.T, dist string) {
	for _, platform := range pluginPlatforms {
		files := untar(t, filepath.Join(dist, pluginArchive(platform)))
		if _, ok := files["LICENSE"]; !ok || len(files) != 2 {
			t.Errorf("%s holds %d files, want kubectl-scim and LICENSE", pluginArchive(platform), len(files))
		}
		bin, ok := files["kubectl-scim"]
		if !ok {
			t.Errorf("%s holds no kubectl-scim", pluginArchive(platform))
			continue
		}
		if got := binaryPlatform(t, bin); got != platform {
			t.Errorf("%s: kubectl-scim is built for %s", pluginArchive(platform), got)
		}
		if platform == runtime.GOOS+"/"+runtime.GOARCH {
			path := filepath.Join(t.TempDir(), "kubectl-scim")
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "--help").CombinedOutput()
			if !strings.Contains(string(out), "who-can") {
				t.Errorf("kubectl-scim --help (%v) does not list its commands:\n%s", err, out)
			}
		}
	}
}

func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}

// binaryPlatform reads os/arch from an ELF or Mach-O header.
func binaryPlatform(t *testing.T, bin []byte) string {
	t.Helper()
	if f, err := elf.NewFile(bytes.NewReader(bin)); err == nil {
		switch f.Machine {
		case elf.EM_X86_64:
			return "linux/amd64"
		case elf.EM_AARCH64:
			return "linux/arm64"
		}
		return "linux/" + f.Machine.String()
	}
	if f, err := macho.NewFile(bytes.NewReader(bin)); err == nil {
		switch f.Cpu {
		case macho.CpuAmd64:
			return "darwin/amd64"
		case macho.CpuArm64:
			return "darwin/arm64"
		}
		return "darwin/" + f.Cpu.String()
	}
	return "unknown"
}
