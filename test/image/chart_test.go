package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scim-operator/scim-operator/internal/controlplane"
)

// helmVersion is the Helm the Makefile builds (HELM_VERSION), as in test/chart.
const helmVersion = "v3.22.0"

// render runs `helm template` for release "scim" in namespace and returns the
// rendered objects.
func render(t *testing.T, namespace string, set ...string) []*unstructured.Unstructured {
	t.Helper()
	bin := filepath.Join(controlplane.RepoRoot(), "bin", "helm-"+helmVersion)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Helm %s not found at %s: run `make helm`", helmVersion, bin)
	}
	args := []string{"template", "scim", filepath.Join(controlplane.RepoRoot(), "charts", "scim-operator"), "--namespace", namespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(&stdout))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// kubectlApply server-side applies objects with the built kubectl.
func kubectlApply(t *testing.T, kubeconfig string, objs []*unstructured.Unstructured) {
	t.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	cmd := exec.Command(controlplane.Kubectl(), "--kubeconfig", kubeconfig, "apply", "--server-side",
		"--field-manager=scim-image-test", "-f", "-")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// container is how a rendered Deployment's pod runs under podman.
type container struct {
	name           string // podman's, set by runContainer
	component      string
	serviceAccount string
	args           []string       // the chart's args, listening ports moved to free ones
	flags          []string       // podman run flags from the security context and resources
	ports          map[string]int // free host port by container port name and number
	liveness       *corev1.HTTPGetAction
	readiness      *corev1.HTTPGetAction
}

// url returns http://127.0.0.1:<port>path for a container port's name or number.
func (c container) url(port, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", c.ports[port], path)
}

// probeURL returns the URL a kubelet would GET for an HTTP probe.
func (c container) probeURL(h *corev1.HTTPGetAction) string {
	return c.url(h.Port.String(), h.Path)
}

// fromDeployment translates the Deployment's pod: its ServiceAccount, args,
// user and group, read-only root filesystem, capabilities, privilege
// escalation and memory limit. The containers share the host's network, so
// each port the args bind is moved to a free one on 127.0.0.1; every
// container port must be bound by exactly one argument.
func fromDeployment(t *testing.T, o *unstructured.Unstructured) container {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &d, true); err != nil {
		t.Fatalf("Deployment %s: %v", o.GetName(), err)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", d.Name, len(pod.Containers))
	}
	ctr := pod.Containers[0]
	c := container{component: d.Labels["app.kubernetes.io/component"], serviceAccount: pod.ServiceAccountName,
		args: append([]string(nil), ctr.Args...), ports: map[string]int{}}
	if c.serviceAccount == "" || pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Fatalf("Deployment %s does not mount its ServiceAccount's token", d.Name)
	}
	for _, p := range ctr.Ports {
		suffix := "=:" + strconv.Itoa(int(p.ContainerPort))
		free := freePort(t)
		bound := 0
		for i, a := range c.args {
			if strings.HasSuffix(a, suffix) {
				c.args[i] = strings.TrimSuffix(a, suffix) + "=127.0.0.1:" + strconv.Itoa(free)
				bound++
			}
		}
		if bound != 1 {
			t.Fatalf("Deployment %s: %d arguments bind container port %s (%d), want 1: %v", d.Name, bound, p.Name, p.ContainerPort, ctr.Args)
		}
		c.ports[p.Name], c.ports[strconv.Itoa(int(p.ContainerPort))] = free, free
	}
	c.flags = securityFlags(t, d.Name, pod.SecurityContext, ctr.SecurityContext)
	if limit, ok := ctr.Resources.Limits[corev1.ResourceMemory]; ok {
		c.flags = append(c.flags, "--memory="+strconv.FormatInt(limit.Value(), 10))
	}
	for _, probe := range []struct {
		p   *corev1.Probe
		out **corev1.HTTPGetAction
	}{{ctr.LivenessProbe, &c.liveness}, {ctr.ReadinessProbe, &c.readiness}} {
		if probe.p == nil || probe.p.HTTPGet == nil {
			t.Fatalf("Deployment %s lacks an HTTP liveness or readiness probe", d.Name)
		}
		*probe.out = probe.p.HTTPGet
	}
	return c
}

// securityFlags maps the pod's and the container's security context to
// podman run flags; the container's fields win, as in Kubernetes.
func securityFlags(t *testing.T, name string, pod *corev1.PodSecurityContext, ctr *corev1.SecurityContext) []string {
	t.Helper()
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if ctr == nil {
		ctr = &corev1.SecurityContext{}
	}
	user, group := pod.RunAsUser, pod.RunAsGroup
	if ctr.RunAsUser != nil {
		user = ctr.RunAsUser
	}
	if ctr.RunAsGroup != nil {
		group = ctr.RunAsGroup
	}
	if user == nil || group == nil {
		t.Fatalf("Deployment %s sets no runAsUser and runAsGroup", name)
	}
	flags := []string{fmt.Sprintf("--user=%d:%d", *user, *group)}
	if ctr.ReadOnlyRootFilesystem != nil && *ctr.ReadOnlyRootFilesystem {
		// Kubernetes mounts no tmpfs on /tmp or /run; neither may podman.
		flags = append(flags, "--read-only", "--read-only-tmpfs=false")
	}
	if ctr.AllowPrivilegeEscalation != nil && !*ctr.AllowPrivilegeEscalation {
		flags = append(flags, "--security-opt=no-new-privileges")
	}
	if ctr.Capabilities != nil {
		for _, c := range ctr.Capabilities.Drop {
			flags = append(flags, "--cap-drop="+string(c))
		}
	}
	return flags
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
