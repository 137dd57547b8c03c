package devmode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// oidcAccessFollowsSCIM checks real authentication end to end: ada (member of
// k8s-viewers, granted view by the demo binding) lists ConfigMaps in default
// with her own ID token from OIDC_TOKEN_CMD, bob (pushed, in no group) is
// authenticated but forbidden, and once the IdP deactivates ada her still-valid
// token is forbidden within a second.
func oidcAccessFollowsSCIM(t *testing.T, env map[string]string, adaID string) {
	t.Helper()
	createUser(t, env, "bob@example.com")
	ada := tokenClient(t, env, "ada@example.com")
	bob := tokenClient(t, env, "bob@example.com")
	ctx := context.Background()
	list := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}

	deadline := time.Now().Add(30 * time.Second)
	for err := list(ada); err != nil; err = list(ada) {
		if time.Now().After(deadline) {
			t.Fatalf("ada@example.com cannot list ConfigMaps in default with her OIDC token after 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The README's way: kubectl with the kubeconfig's credential-less user oidc and --token.
	whoami, err := exec.Command(env["KUBECTL"], "--kubeconfig", env["KUBECONFIG"], "--user", "oidc",
		"--token", idToken(t, env, "ada@example.com"), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").CombinedOutput()
	if err != nil || string(whoami) != "oidc:ada@example.com" {
		t.Errorf("kubectl --user oidc --token <ada's token> auth whoami: %v, %q; want oidc:ada@example.com", err, whoami)
	}
	if err := list(bob); !apierrors.IsForbidden(err) {
		t.Errorf("bob@example.com, in no group, listing ConfigMaps in default: %v, want 403 Forbidden", err)
	}

	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	if status := scimDo(t, env, "PATCH", "/Users/"+adaID, body, nil); status != http.StatusOK && status != http.StatusNoContent {
		t.Fatalf("PATCH /Users/%s active=false: status %d", adaID, status)
	}
	deactivated := time.Now()
	const bound = 10 * time.Second
	polls := 0
	for {
		polls++
		err := list(ada)
		if apierrors.IsForbidden(err) {
			break
		}
		if time.Since(deactivated) > bound {
			t.Fatalf("ada@example.com's token still lists ConfigMaps %v after her deactivation (last error: %v)", bound, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	latency := time.Since(deactivated)
	t.Logf("revocation latency: deactivated ada's token got 403 %v after the SCIM PATCH returned (poll %d, every 50 ms)", latency.Round(time.Millisecond), polls)
	if latency > time.Second {
		t.Errorf("revocation took %v, want within 1 s", latency.Round(time.Millisecond))
	}
}

// tokenClient returns a clientset that authenticates with userName's ID token
// from OIDC_TOKEN_CMD, run from an unrelated working directory, and trusts the
// server and CA of KUBECONFIG; the kubeconfig's admin certificate is not used.
func tokenClient(t *testing.T, env map[string]string, userName string) kubernetes.Interface {
	t.Helper()
	admin, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(admin)
	cfg.BearerToken = idToken(t, env, userName)
	if cfg.CertData != nil || cfg.KeyData != nil || cfg.CertFile != "" {
		t.Fatal("the token client still carries a client certificate")
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// idToken runs `$OIDC_TOKEN_CMD <userName>` from an unrelated working directory.
func idToken(t *testing.T, env map[string]string, userName string) string {
	t.Helper()
	args := strings.Fields(env["OIDC_TOKEN_CMD"])
	cmd := exec.Command(args[0], append(args[1:], userName)...)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("$OIDC_TOKEN_CMD %s: %v", userName, err)
	}
	return strings.TrimSpace(string(out))
}

func createUser(t *testing.T, env map[string]string, userName string) string {
	t.Helper()
	body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"active":true}`, userName)
	var created struct{ ID string }
	if status := scimDo(t, env, "POST", "/Users", body, &created); status != http.StatusCreated || created.ID == "" {
		t.Fatalf("POST /Users %s: status %d, id %q", userName, status, created.ID)
	}
	return created.ID
}

// scimDo sends a SCIM request with SCIM_TOKEN, decodes the response into out when set, and returns the status.
func scimDo(t *testing.T, env map[string]string, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, env["SCIM_BASE_URL"]+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env["SCIM_TOKEN"])
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
