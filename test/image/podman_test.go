package image

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// containersConf is the podman configuration that works on machines without
// a systemd user session or writable rlimits: no default ulimits.
const containersConf = "[containers]\ndefault_ulimits = []\n"

// podman runs Debian's podman with runc and cgroupfs (crun fails on these
// machines) against a private storage folder, so that the test neither reads
// nor leaves images in the machine's storage.
type podman struct {
	bin, runc string
	dir       string // storage, run state and containers.conf
}

// newPodman returns a podman with fresh storage, removed when the test ends,
// or skips the test when podman or runc is not installed.
func newPodman(t *testing.T) *podman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman is not installed: the image is not built (apt-get install -y podman runc; .ci/run installs them)")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/runc"); statErr != nil {
			t.Skip("runc is not installed: podman's default crun fails on these machines (apt-get install -y runc)")
		}
		runc = "/usr/sbin/runc"
	}
	// Not t.TempDir: the storage must be released by podman before removal.
	dir, err := os.MkdirTemp("", "scim-image-podman-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "containers.conf"), []byte(containersConf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &podman{bin: bin, runc: runc, dir: dir}
	t.Cleanup(func() {
		if out, err := p.run("system", "reset", "--force"); err != nil {
			t.Logf("podman system reset: %v\n%s", err, out)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing podman storage: %v", err)
		}
	})
	return p
}

// commandLine is podman with the test's storage and runtime, before the
// subcommand. Its words hold no space (os.MkdirTemp, LookPath).
func (p *podman) commandLine() []string {
	return []string{p.bin,
		"--root", filepath.Join(p.dir, "storage"),
		"--runroot", filepath.Join(p.dir, "run"),
		"--tmpdir", filepath.Join(p.dir, "tmp"),
		"--storage-driver", "overlay",
		"--runtime", p.runc,
		"--cgroup-manager=cgroupfs",
		"--events-backend=none",
	}
}

// env is the environment podman runs in: the test's containers.conf.
func (p *podman) env() []string {
	return append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(p.dir, "containers.conf"))
}

// command returns a podman command with the test's storage and runtime.
func (p *podman) command(args ...string) *exec.Cmd {
	line := p.commandLine()
	cmd := exec.Command(line[0], append(line[1:], args...)...)
	cmd.Env = p.env()
	return cmd
}

// run runs podman and returns its combined output.
func (p *podman) run(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := p.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("podman %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// must runs podman and fails the test on an error.
func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.run(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}
