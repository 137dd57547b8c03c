package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/scimserver"
)

const (
	releaseNamespace = "scim-system"
	identityNS       = "identity"
)

// TestImageRunsAsTheChartDeploys builds the repository's Dockerfile with
// podman and runs the image as the chart's two Deployments run it — their
// args, user, read-only root filesystem, dropped capabilities, each with a
// token of its own ServiceAccount holding only the RBAC the chart renders —
// against the real kube-apiserver: the probes pass, the SCIM server
// provisions a user and a group, and the controllers project the group into
// a RoleBinding.
func TestImageRunsAsTheChartDeploys(t *testing.T) {
	p := newPodman(t)
	image := buildImage(t, p)

	ctrllog.SetLogger(logr.Discard()) // envtest logs through controller-runtime
	cp, err := controlplane.Start(controlplane.Options{AttachOutput: os.Getenv("SCIM_TEST_CONTROLPLANE_OUTPUT") != ""})
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Logf("stopping the control plane: %v", err)
		}
	})
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{releaseNamespace, identityNS} {
		create(t, admin, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}

	objs := render(t, releaseNamespace, "secretNamespaces={"+identityNS+"}")
	var access []*unstructured.Unstructured
	var deployments []container
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			access = append(access, o)
		case "Deployment":
			deployments = append(deployments, fromDeployment(t, o))
		}
	}
	kubectlApply(t, writeKubeconfig(t, cp), access)

	byComponent := map[string]container{}
	for i := range deployments {
		deployments[i] = runContainer(t, p, cp, image, deployments[i])
		byComponent[deployments[i].component] = deployments[i]
	}
	scim, controllers := byComponent["scim"], byComponent["controllers"]
	if len(byComponent) != 2 || scim.args == nil || controllers.args == nil {
		t.Fatalf("the chart renders components %v, want scim and controllers", byComponent)
	}
	for _, c := range deployments {
		waitFor(t, p, c, c.probeURL(c.readiness), http.StatusOK)
		waitFor(t, p, c, c.probeURL(c.liveness), http.StatusOK)
	}

	const token = "image-test-token-0123456789abcdef0123"
	create(t, admin, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: identityNS, Name: "okta-token",
		Labels: map[string]string{scimv1.LabelTokenSecret: "true"}},
		StringData: map[string]string{"token": token}})
	create(t, admin, &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: identityNS, Name: "okta"},
		Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "okta-token", Key: "token"}}}})

	base := scim.url("scim", scimserver.PathPrefix+identityNS+"/okta")
	var user, group map[string]any
	post(t, base+"/Users", token, map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "ada@example.com", "active": true,
	}, &user)
	var created scimv1.ScimUser
	if err := admin.Get(ctx, client.ObjectKey{Namespace: identityNS, Name: fmt.Sprint(user["id"])}, &created); err != nil {
		t.Fatalf("the user the container answered 201 for is not stored: %v", err)
	}
	post(t, base+"/Groups", token, map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "viewers", "members": []map[string]any{{"value": user["id"]}},
	}, &group)

	create(t, admin, &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: identityNS, Name: "viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "viewers"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}})
	var subjects []rbacv1.Subject
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var rbs rbacv1.RoleBindingList
		if err := admin.List(ctx, &rbs, client.InNamespace(identityNS),
			client.MatchingLabels{scimv1.LabelManagedBy: scimv1.ManagedByValue}); err != nil {
			return false, err
		}
		subjects = nil
		for _, rb := range rbs.Items {
			subjects = append(subjects, rb.Subjects...)
		}
		return len(subjects) == 1 && subjects[0].Name == "ada@example.com", nil
	})
	if err != nil {
		t.Fatalf("the controllers container never projected group viewers into a RoleBinding: subjects %v\n%s",
			subjects, logs(p, controllers))
	}
	// The probes still pass after the work.
	for _, c := range deployments {
		waitFor(t, p, c, c.probeURL(c.liveness), http.StatusOK)
	}
}

// runContainer starts the image as the Deployment's pod: the ServiceAccount
// token, CA and namespace where the in-cluster configuration reads them,
// KUBERNETES_SERVICE_HOST/PORT naming the API server. The container is
// removed when the test ends, its log printed when the test failed. It
// returns c with the container's name.
func runContainer(t *testing.T, p *podman, cp *controlplane.ControlPlane, image string, c container) container {
	t.Helper()
	server, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(releaseNamespace).CreateToken(context.Background(), c.serviceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for ServiceAccount %s: %v", c.serviceAccount, err)
	}
	secrets := t.TempDir()
	if err := os.Chmod(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, secrets, "token", tr.Status.Token)
	writeFile(t, secrets, "ca.crt", string(cp.Config.CAData))
	writeFile(t, secrets, "namespace", releaseNamespace)

	c.name = fmt.Sprintf("scim-image-test-%s-%d", c.component, time.Now().UnixNano())
	args := append([]string{"run", "--detach", "--name", c.name, "--network=host",
		"--volume", secrets + ":/var/run/secrets/kubernetes.io/serviceaccount:ro",
		"--env", "KUBERNETES_SERVICE_HOST=" + server.Hostname(),
		"--env", "KUBERNETES_SERVICE_PORT=" + server.Port(),
	}, c.flags...)
	args = append(append(args, image), c.args...)
	t.Logf("podman %s", strings.Join(args, " "))
	p.must(t, args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs(p, c))
		}
		if out, err := p.run("rm", "--force", "--time=5", c.name); err != nil {
			t.Logf("%v\n%s", err, out)
		}
	})
	checkProcess(t, p, c)
	return c
}

// logs returns the container's log.
func logs(p *podman, c container) string {
	out, err := p.run("logs", c.name)
	if err != nil {
		return fmt.Sprintf("%v\n%s", err, out)
	}
	return fmt.Sprintf("--- log of %s:\n%s", c.component, out)
}

// waitFor GETs u until it answers want, failing with the container's log
// when it does not within two minutes or the container stops.
func waitFor(t *testing.T, p *podman, c container, u string, want int) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		if state, err := p.run("inspect", "--format", "{{.State.Status}}", c.name); err != nil || strings.TrimSpace(state) != "running" {
			return false, fmt.Errorf("container %s is %q (%v)", c.name, strings.TrimSpace(state), err)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		return resp.StatusCode == want, nil
	})
	if err != nil {
		t.Fatalf("GET %s (%s): want %d, last answer %q: %v\n%s", u, c.component, want, last, err, logs(p, c))
	}
}

// post POSTs body with the bearer token until the answer is 201 Created (the
// SCIM server loads the endpoint's token shortly after it is created),
// decoding it into out.
func post(t *testing.T, u, token string, body any, out any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var last string
	err = wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		if resp.StatusCode != http.StatusCreated {
			return false, nil
		}
		return true, json.Unmarshal(b, out)
	})
	if err != nil {
		t.Fatalf("POST %s: want 201, last answer %s", u, last)
	}
}

// create creates obj as admin.
func create(t *testing.T, admin client.Client, obj client.Object) {
	t.Helper()
	if err := admin.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// writeKubeconfig writes a cluster-admin kubeconfig for the control plane.
func writeKubeconfig(t *testing.T, cp *controlplane.ControlPlane) string {
	t.Helper()
	data, err := cp.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, t.TempDir(), "kubeconfig", string(data))
}

// checkProcess reads the container's main process from /proc: it runs as
// 65532, with no effective capability, no new privileges, and a read-only
// root filesystem.
func checkProcess(t *testing.T, p *podman, c container) {
	t.Helper()
	pid := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.Pid}}", c.name))
	status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		t.Fatalf("reading the container's process status: %v", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	for k, want := range map[string]string{"Uid": "65532 65532 65532 65532", "Gid": "65532 65532 65532 65532",
		"CapEff": "0000000000000000", "NoNewPrivs": "1"} {
		if fields[k] != want {
			t.Errorf("%s container: %s is %q, want %q", c.component, k, fields[k], want)
		}
	}
	mountinfo, err := os.ReadFile(filepath.Join("/proc", pid, "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		// ID parent major:minor root mountpoint options ...
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			if !strings.HasPrefix(f[5], "ro") {
				t.Errorf("%s container: the root filesystem is mounted %s, want read-only", c.component, f[5])
			}
			return
		}
	}
	t.Errorf("%s container: no root mount in its mountinfo", c.component)
}
