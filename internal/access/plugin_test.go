package access_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scim-operator/scim-operator/internal/access"
	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// TestPluginThroughKubectl builds cmd/kubectl-scim, puts it on PATH and runs
// it as `kubectl scim` with a kubeconfig file, as a platform engineer does:
// kubectl finds the plugin, the plugin loads the kubeconfig and -n, and its
// table and JSON name the user, the group, the binding and the RoleBinding.
func TestPluginThroughKubectl(t *testing.T) {
	tm := seedTeam(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-scim"), "./cmd/kubectl-scim")
	build.Dir = controlplane.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/kubectl-scim: %v\n%s", err, out)
	}
	kubeconfig, err := cp.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) (string, error) {
		cmd := exec.Command(controlplane.Kubectl(), args...)
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kcPath)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := kubectl("scim", "user", "alice@example.com", "-n", tm.ns)
	if err != nil {
		t.Fatalf("kubectl scim user: %v\n%s", err, out)
	}
	for _, want := range []string{"alice@example.com", "k8s-viewers", "ScimRoleBinding/" + tm.ns + "/viewers", "scim-rb-viewers-0", "Granted", "wiki"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl scim user prints no %q:\n%s", want, out)
		}
	}

	t.Logf("kubectl scim user:\n%s", out)
	out, err = kubectl("scim", "user", "alice", "--endpoint", tm.ns+"/okta", "-o", "json")
	if err != nil {
		t.Fatalf("kubectl scim user -o json: %v\n%s", err, out)
	}
	var r access.UserReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("-o json is not a user report: %v\n%s", err, out)
	}
	if r.User.UserName != "alice@example.com" || len(r.Access) != 1 || r.Access[0].RoleBinding.Name != "scim-rb-viewers-0" {
		t.Errorf("-o json = %+v, want alice granted through scim-rb-viewers-0", r)
	}

	out, err = kubectl("scim", "who-can", "-n", tm.ns)
	if err != nil || !strings.Contains(out, "oidc:bob@example.com") || !strings.Contains(out, "scim-rb-viewers-0") {
		t.Errorf("kubectl scim who-can: %v, want bob's subject in scim-rb-viewers-0:\n%s", err, out)
	}

	t.Logf("kubectl scim who-can:\n%s", out)
	out, err = kubectl("scim", "group", "no-such-group", "-n", tm.ns)
	if err == nil || !strings.Contains(out, `no group "no-such-group" in namespace `+tm.ns) {
		t.Errorf("kubectl scim group of an unknown group: %v, want a failure that names it:\n%s", err, out)
	}
}
