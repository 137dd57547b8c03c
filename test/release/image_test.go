package release

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// machines is the ELF machine each released platform's binary must have.
var machines = map[string]elf.Machine{
	"linux/amd64": elf.EM_X86_64,
	"linux/arm64": elf.EM_AARCH64,
}

// shells are the names of programs that would give `kubectl exec` a shell.
var shells = []string{"sh", "bash", "dash", "ash", "zsh", "busybox"}

// checkImage checks each image of the archive and returns its binary by
// platform: exactly linux/amd64 and linux/arm64, a static binary of that
// machine as the entrypoint, user 65532, and no shell anywhere.
func checkImage(t *testing.T, archive string) map[string][]byte {
	binaries := map[string][]byte{}
	for _, img := range images(t, archive) {
		want, ok := machines[img.platform]
		if !ok {
			t.Errorf("the archive holds an image for %s, want only %v", img.platform, slices.Sorted(maps.Keys(machines)))
			continue
		}
		if _, dup := binaries[img.platform]; dup {
			t.Errorf("the archive holds two images for %s", img.platform)
		}
		if got := img.config.OS + "/" + img.config.Architecture; got != img.platform {
			t.Errorf("the index says %s, the image's config %s", img.platform, got)
		}
		if u := img.config.Config.User; u != "65532" && u != "65532:65532" {
			t.Errorf("%s: the image runs as user %q, want 65532", img.platform, u)
		}
		if ep := img.config.Config.Entrypoint; len(ep) != 1 || ep[0] != "/scim-operator" {
			t.Errorf("%s: entrypoint %q, want [/scim-operator]", img.platform, ep)
		}
		for name := range img.files {
			if slices.Contains(shells, path.Base(name)) {
				t.Errorf("%s: the image holds a shell, /%s", img.platform, name)
			}
		}
		bin := img.files["scim-operator"]
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Errorf("%s: /scim-operator is not an ELF binary: %v", img.platform, err)
			continue
		}
		if f.Machine != want {
			t.Errorf("%s: /scim-operator is built for %v, want %v", img.platform, f.Machine, want)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: /scim-operator is dynamically linked: the static base has no libc", img.platform)
			}
		}
		binaries[img.platform] = bin
	}
	if len(binaries) != len(machines) {
		t.Fatalf("the archive holds images for %v, want %v", slices.Sorted(maps.Keys(binaries)), slices.Sorted(maps.Keys(machines)))
	}
	return binaries
}

// checkSBOM checks that the CycloneDX document describes the module at the
// release's version and lists exactly the modules and standard library the
// images' binaries say they are built from — among them this checkout's
// controller-runtime.
func checkSBOM(t *testing.T, file string, binaries map[string][]byte) {
	if len(binaries) != len(machines) {
		t.Fatal("the image check found no binaries to compare the SBOM with")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	type component struct{ Name, Version, PURL string }
	var doc struct {
		BOMFormat, SpecVersion string
		Metadata               struct{ Component component }
		Components             []component
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the SBOM is not JSON: %v", err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" {
		t.Errorf("the SBOM is %s %s, want CycloneDX 1.5", doc.BOMFormat, doc.SpecVersion)
	}
	module := goList(t, "-m")
	if c := doc.Metadata.Component; c.Name != module || c.Version != "v"+version {
		t.Errorf("the SBOM describes %s %s, want %s v%s", c.Name, c.Version, module, version)
	}

	want := map[string]bool{}
	for platform, bin := range binaries {
		info, err := buildinfo.Read(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: reading the binary's build information: %v", platform, err)
		}
		if info.Main.Path != module {
			t.Errorf("%s: the binary is built from %s, want %s", platform, info.Main.Path, module)
		}
		want["stdlib@"+info.GoVersion] = true
		for _, d := range info.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			want[d.Path+"@"+d.Version] = true
		}
	}
	got := map[string]bool{}
	for _, c := range doc.Components {
		got[c.Name+"@"+c.Version] = true
		if !strings.HasPrefix(c.PURL, "pkg:golang/") || !strings.Contains(c.PURL, "@") {
			t.Errorf("component %s has purl %q, want pkg:golang/<path>@<version>", c.Name, c.PURL)
		}
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got))); diff != "" {
		t.Errorf("the SBOM's components differ from the binaries' modules (-binaries +SBOM):\n%s", diff)
	}
	cr := "sigs.k8s.io/controller-runtime@" + goList(t, "-m", "-f", "{{.Version}}", "sigs.k8s.io/controller-runtime")
	if !got[cr] {
		t.Errorf("the SBOM does not list %s", cr)
	}
}

// goList runs `go list` in the repository and returns its trimmed output.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = controlplane.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
