package v1alpha1_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestFieldSelectors lists ScimUsers and ScimGroups by spec fields: the API
// server filters (selectableFields), so `kubectl get scimusers
// --field-selector spec.userName=ada@example.com` finds a user without
// knowing its id, and a field that is not selectable is refused.
func TestFieldSelectors(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := namespace(t, c)
	user := func(name, endpoint, userName string, active bool) {
		t.Helper()
		u := &scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: scimv1.ScimUserSpec{Endpoint: endpoint, UserName: userName, Active: active}}
		if err := c.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	user("ada-okta", "okta", "ada@example.com", true)
	user("ada-entra", "entra", "ada@example.com", true)
	user("bob-okta", "okta", "bob@example.com", false)
	for _, g := range []struct{ name, endpoint, displayName string }{
		{"devs-okta", "okta", "devs"}, {"ops-okta", "okta", "ops"}, {"devs-entra", "entra", "devs"},
	} {
		if err := c.Create(ctx, &scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: g.name},
			Spec: scimv1.ScimGroupSpec{Endpoint: g.endpoint, DisplayName: g.displayName}}); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		reason string
		list   client.ObjectList
		fields client.MatchingFields
		want   []string
	}{
		{"a userName, on every endpoint", &scimv1.ScimUserList{}, client.MatchingFields{"spec.userName": "ada@example.com"}, []string{"ada-entra", "ada-okta"}},
		{"a userName on one endpoint", &scimv1.ScimUserList{}, client.MatchingFields{"spec.userName": "ada@example.com", "spec.endpoint": "okta"}, []string{"ada-okta"}},
		{"an endpoint's users", &scimv1.ScimUserList{}, client.MatchingFields{"spec.endpoint": "okta"}, []string{"ada-okta", "bob-okta"}},
		{"inactive users", &scimv1.ScimUserList{}, client.MatchingFields{"spec.active": "false"}, []string{"bob-okta"}},
		{"no such userName", &scimv1.ScimUserList{}, client.MatchingFields{"spec.userName": "ADA@example.com"}, nil},
		{"a displayName on one endpoint", &scimv1.ScimGroupList{}, client.MatchingFields{"spec.displayName": "devs", "spec.endpoint": "okta"}, []string{"devs-okta"}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			if err := c.List(ctx, tc.list, client.InNamespace(ns), tc.fields); err != nil {
				t.Fatal(err)
			}
			if got := names(tc.list); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("a field that is not selectable is refused", func(t *testing.T) {
		err := c.List(ctx, &scimv1.ScimUserList{}, client.InNamespace(ns), client.MatchingFields{"spec.displayName": "Ada"})
		if err == nil || !strings.Contains(err.Error(), "field label not supported") {
			t.Errorf("want the API server to refuse spec.displayName, got %v", err)
		}
	})

	t.Run("kubectl", func(t *testing.T) {
		out := kubectl(t, "get", "scimusers", "-n", ns, "--field-selector", "spec.userName=ada@example.com,spec.endpoint=entra", "-o", "name")
		if strings.TrimSpace(out) != "scimuser.scim.scim-operator.io/ada-entra" {
			t.Errorf("kubectl get --field-selector printed:\n%s", out)
		}
	})
}

// TestCategoryScim: `kubectl get scim` lists the configuration a platform
// team writes (endpoints, bindings, entitlements, TenantApps), never the
// identity data the SCIM server writes (users, groups, membership shards,
// claims).
func TestCategoryScim(t *testing.T) {
	out := kubectl(t, "api-resources", "--categories=scim", "-o", "name")
	got := strings.Fields(out)
	slices.Sort(got)
	want := []string{
		"scimclusterrolebindings.scim.scim-operator.io",
		"scimendpoints.scim.scim-operator.io",
		"scimentitlements.scim.scim-operator.io",
		"scimrolebindings.scim.scim-operator.io",
		"tenantapps.scim.scim-operator.io",
	}
	if !slices.Equal(got, want) {
		t.Errorf("category scim holds %v, want %v", got, want)
	}

	c := newClient(t)
	ns := namespace(t, c)
	ctx := context.Background()
	objs := []client.Object{
		&scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta"},
			Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "okta-token", Key: "token"}}}},
		&scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs-view"},
			Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "devs"},
				RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}},
		&scimv1.ScimUser{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ada"},
			Spec: scimv1.ScimUserSpec{Endpoint: "okta", UserName: "ada@example.com", Active: true}},
		&scimv1.ScimGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "devs"},
			Spec: scimv1.ScimGroupSpec{Endpoint: "okta", DisplayName: "devs"}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	listed := kubectl(t, "get", "scim", "-n", ns, "-o", "name")
	for _, want := range []string{"scimendpoint.scim.scim-operator.io/okta", "scimrolebinding.scim.scim-operator.io/devs-view"} {
		if !strings.Contains(listed, want) {
			t.Errorf("kubectl get scim lacks %s:\n%s", want, listed)
		}
	}
	for _, unwanted := range []string{"scimuser.", "scimgroup.", "scimmembership.", "scimclaim."} {
		if strings.Contains(listed, unwanted) {
			t.Errorf("kubectl get scim lists %s*:\n%s", unwanted, listed)
		}
	}

	// The binding's ENDPOINT and GROUP columns show its spec.
	table := kubectl(t, "get", "scimrolebinding", "devs-view", "-n", ns)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 2 || !slices.Equal(strings.Fields(lines[0])[:4], []string{"NAME", "ENDPOINT", "GROUP", "ROLE"}) ||
		!slices.Equal(strings.Fields(lines[1])[:4], []string{"devs-view", "okta", "devs", "view"}) {
		t.Errorf("kubectl get scimrolebinding printed:\n%s", table)
	}
}

// namespace creates a namespace of the test's own.
func namespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := testharness.Namespace(t)
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// names returns the sorted names of a list's items.
func names(list client.ObjectList) []string {
	var out []string
	switch l := list.(type) {
	case *scimv1.ScimUserList:
		for _, u := range l.Items {
			out = append(out, u.Name)
		}
	case *scimv1.ScimGroupList:
		for _, g := range l.Items {
			out = append(out, g.Name)
		}
	}
	slices.Sort(out)
	return out
}

// kubectl runs the control plane's kubectl as a cluster admin and returns
// its stdout.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	data, err := cp.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(controlplane.Kubectl(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
