// Package devmode_test runs the local mode the way `make dev` does, as a
// subprocess, and checks what a developer relies on: the env file, the demo
// objects through kubectl, the SCIM endpoint, and that Ctrl-C leaves no
// process behind.
package devmode_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

func TestLocalMode(t *testing.T) {
	if err := controlplane.CheckBinaries(); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "dev")
	build := exec.Command("go", "build", "-o", bin, "./hack/dev")
	build.Dir = controlplane.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building hack/dev: %v\n%s", err, out)
	}
	state := filepath.Join(t.TempDir(), "state")
	// A world-traversable parent, so PostgreSQL (run unprivileged under root) can reach its data.
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(state); d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	cmd := exec.Command(bin, "--state", state, "--scim-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KUBEBUILDER_ASSETS="+controlplane.AssetsDir())
	out, err := os.Create(filepath.Join(t.TempDir(), "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	finished := make(chan struct{}) // closed once the process has exited, for the deferred stop
	go func() { exited <- cmd.Wait(); close(finished) }()
	defer func() {
		// A test that failed before its Ctrl-C step still stops the local
		// mode the way a user does, so its etcd, kube-apiserver and
		// postgres do not outlive the test; Kill only if that hangs.
		select {
		case <-finished:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-finished:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()

	envFile := filepath.Join(state, "env")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := os.Stat(envFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(out.Name())
			t.Fatalf("local mode exited before ready: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("local mode not ready within 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	env := readEnv(t, envFile)
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	for _, k := range []string{"KUBECONFIG", "KUBECTL", "SCIM_BASE_URL", "SCIM_TOKEN", "TENANT_DSN", "OIDC_TOKEN_CMD"} {
		if env[k] == "" {
			t.Errorf("env file lacks %s", k)
		}
	}
	if len(env) != 6 {
		t.Errorf("env file has %d variables %v, want exactly 6", len(env), keys)
	}
	if !strings.HasSuffix(env["SCIM_BASE_URL"], "/scim/v2/default/okta") || !strings.HasPrefix(env["TENANT_DSN"], "postgres://") {
		t.Errorf("unexpected SCIM_BASE_URL %q or TENANT_DSN %q", env["SCIM_BASE_URL"], env["TENANT_DSN"])
	}

	// kubectl lists the demo objects with their printer columns.
	kubectl := exec.Command(env["KUBECTL"], "--kubeconfig", env["KUBECONFIG"], "get", "scimendpoints,tenantapps", "-A")
	listing, err := kubectl.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get: %v\n%s", err, listing)
	}
	for _, want := range []string{"okta", "demo-app", "PATH", "USERS", "GROUPS", "READY", "ENDPOINT"} {
		if !strings.Contains(string(listing), want) {
			t.Errorf("kubectl get output lacks %q:\n%s", want, listing)
		}
	}

	// The demo endpoint answers with the demo token, and refuses without it.
	for token, want := range map[string]int{env["SCIM_TOKEN"]: http.StatusOK, "wrong-token-0123456789": http.StatusUnauthorized} {
		req, _ := http.NewRequest("GET", env["SCIM_BASE_URL"]+"/Users?startIndex=1&count=2", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /Users with token %.6s…: status %d, want %d", token, resp.StatusCode, want)
		}
	}

	// A user provisioned through the demo endpoint appears in demo-app's table at TENANT_DSN.
	id := userRowAppears(t, env)
	// Pushed in the group k8s-viewers, the user is granted view by the demo binding.
	demoBindingGrants(t, env, id)
	// With her own OIDC token she can read default; deactivated, she cannot.
	oidcAccessFollowsSCIM(t, env, id)

	// Ctrl-C: every process the local mode started is gone afterwards.
	children := testharness.Descendants(cmd.Process.Pid)
	if len(children) < 3 {
		t.Errorf("expected etcd, kube-apiserver and postgres among the children, found pids %v", children)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			log, _ := os.ReadFile(out.Name())
			t.Errorf("local mode exited with %v after SIGINT\n%s", err, log)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("local mode did not stop within 90 s of SIGINT")
	}
	stopDeadline := time.Now().Add(30 * time.Second)
	for _, p := range children {
		for !p.Gone() && time.Now().Before(stopDeadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !p.Gone() {
			t.Errorf("process %s still running after Ctrl-C", p)
		}
	}
}

// demoBindingGrants pushes the group k8s-viewers with the user through
// SCIM_BASE_URL, as Okta's Push Groups does, and waits until `$KUBECTL get
// rolebindings` shows the demo ScimRoleBinding's RoleBinding granting
// ClusterRole view to the user, named as the API server authenticates her
// OIDC token (oidc:<userName>).
func demoBindingGrants(t *testing.T, env map[string]string, userID string) {
	t.Helper()
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"k8s-viewers","members":[{"value":%q}]}`, userID)
	req, _ := http.NewRequest("POST", env["SCIM_BASE_URL"]+"/Groups", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env["SCIM_TOKEN"])
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /Groups k8s-viewers: status %d", resp.StatusCode)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := exec.Command(env["KUBECTL"], "--kubeconfig", env["KUBECONFIG"], "-n", "default", "get", "rolebindings",
			"-l", "app.kubernetes.io/managed-by=scim-operator",
			"-o", `jsonpath={range .items[*]}{.roleRef.kind}/{.roleRef.name}:{range .subjects[*]}{.name} {end}{"\n"}{end}`).CombinedOutput()
		if err == nil && strings.Contains(string(out), "ClusterRole/view:oidc:ada@example.com ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no RoleBinding in default grants ClusterRole view to oidc:ada@example.com after a minute: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// userRowAppears creates a user through SCIM_BASE_URL, waits until the demo
// TenantApp has written its row into scim.users at TENANT_DSN and returns
// the user's id.
func userRowAppears(t *testing.T, env map[string]string) string {
	t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com",` +
		`"name":{"givenName":"Ada","familyName":"Lovelace"},"active":true}`
	req, _ := http.NewRequest("POST", env["SCIM_BASE_URL"]+"/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env["SCIM_TOKEN"])
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.ID == "" {
		t.Fatalf("POST /Users: status %d, id %q", resp.StatusCode, created.ID)
	}
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		var userName string
		conn, err := pgx.Connect(ctx, env["TENANT_DSN"])
		if err == nil {
			err = conn.QueryRow(ctx, `SELECT user_name FROM scim.users WHERE id = $1`, created.ID).Scan(&userName)
			conn.Close(ctx)
		}
		if err == nil && userName == "ada@example.com" {
			return created.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("user %s has no row in demo-app's database after a minute (last error: %v)", created.ID, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Errorf("env line %q is not VAR=value", sc.Text())
			continue
		}
		env[k] = strings.Trim(v, "'")
	}
	return env
}
