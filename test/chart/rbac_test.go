package chart

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Usernames of the chart's two ServiceAccounts for release "scim" in releaseNamespace.
const (
	scimSA        = "system:serviceaccount:" + releaseNamespace + ":scim-scim-operator-scim"
	controllersSA = "system:serviceaccount:" + releaseNamespace + ":scim-scim-operator-controllers"
)

// access is one question to the API server's authorizer: may user do verb on
// resource (of group, named name) in namespace ("" for cluster scope)?
type access struct {
	user, verb, group, resource, namespace, name string
	want                                         bool
}

func (a access) String() string {
	return fmt.Sprintf("%s %s %s.%s %q in namespace %q", a.user, a.verb, a.resource, a.group, a.name, a.namespace)
}

// TestRenderedRBACIsLeastPrivilege applies the RBAC the chart renders to the
// real kube-apiserver (authorization mode RBAC) and asks it, with
// SubjectAccessReviews, what each component's ServiceAccount may do: the SCIM
// server writes only the SCIM kinds and binds nothing; the RBAC projection
// binds only the allow-listed roles; neither reads Secrets outside the
// namespaces the chart was given.
func TestRenderedRBACIsLeastPrivilege(t *testing.T) {
	objs := render(t, nil, "--set", "secretNamespaces={identity}")
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, o)
		}
	}
	cp := controlPlane(t)
	c, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, ns := range []string{releaseNamespace, "identity", "elsewhere"} {
		// Labelled as TestServerSideDryRun labels them, whichever runs first.
		err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted",
			"pod-security.kubernetes.io/warn":    "restricted",
		}}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	kubectlApply(t, writeKubeconfig(t, cp), toYAML(t, rbac), false)
	t.Cleanup(func() {
		for _, o := range rbac {
			_ = c.Delete(ctx, o)
		}
	})

	const scim, rbacGroup = "scim.scim-operator.io", "rbac.authorization.k8s.io"
	var cases []access
	for _, kind := range []string{"scimusers", "scimgroups", "scimmemberships", "scimclaims"} {
		cases = append(cases,
			access{scimSA, "create", scim, kind, "elsewhere", "", true},
			access{controllersSA, "create", scim, kind, "elsewhere", "", false})
	}
	for _, sa := range []string{scimSA, controllersSA} {
		for _, ns := range []string{releaseNamespace, "identity"} {
			cases = append(cases, access{sa, "get", "", "secrets", ns, "token", true})
		}
		cases = append(cases,
			access{sa, "get", "", "secrets", "elsewhere", "token", false},
			access{sa, "list", "", "secrets", "elsewhere", "", false},
			access{sa, "list", "", "secrets", "", "", false},
			access{sa, "watch", "", "secrets", "", "", false},
			access{sa, "bind", rbacGroup, "clusterroles", "", "cluster-admin", false},
			access{sa, "bind", rbacGroup, "clusterroles", "elsewhere", "admin", false},
			access{sa, "escalate", rbacGroup, "clusterroles", "", "view", false},
			access{sa, "create", rbacGroup, "clusterroles", "", "", false},
			access{sa, "create", scim, "scimrolebindings", "elsewhere", "", false},
			access{sa, "update", scim, "scimendpoints", "elsewhere", "okta", false},
		)
	}
	cases = append(cases,
		access{scimSA, "bind", rbacGroup, "clusterroles", "", "view", false},
		access{scimSA, "bind", rbacGroup, "clusterroles", "elsewhere", "edit", false},
		access{scimSA, "bind", rbacGroup, "roles", "elsewhere", "app-reader", false},
		access{scimSA, "create", rbacGroup, "rolebindings", "elsewhere", "", false},
		access{scimSA, "patch", rbacGroup, "clusterrolebindings", "", "", false},
		access{scimSA, "create", "coordination.k8s.io", "leases", releaseNamespace, "", false},
		access{scimSA, "get", scim, "tenantapps", "elsewhere", "app", true},
		// The SCIM server watches its own Deployment's pods (peers.go), there only.
		access{scimSA, "watch", "", "pods", releaseNamespace, "", true},
		access{scimSA, "get", "", "pods", releaseNamespace, "", false},
		access{scimSA, "list", "", "pods", "elsewhere", "", false},
		access{scimSA, "list", "", "pods", "", "", false},
		access{scimSA, "watch", "apps", "replicasets", releaseNamespace, "", true},
		access{scimSA, "list", "apps", "replicasets", "elsewhere", "", false},
		access{scimSA, "update", "apps", "replicasets", releaseNamespace, "", false},
		access{scimSA, "create", "", "pods", releaseNamespace, "", false},
		access{controllersSA, "list", "", "pods", releaseNamespace, "", false},
		access{controllersSA, "bind", rbacGroup, "clusterroles", "", "view", true},
		access{controllersSA, "bind", rbacGroup, "clusterroles", "elsewhere", "edit", true},
		access{controllersSA, "bind", rbacGroup, "roles", "elsewhere", "app-reader", false},
		access{controllersSA, "create", rbacGroup, "rolebindings", "elsewhere", "", true},
		access{controllersSA, "create", "coordination.k8s.io", "leases", releaseNamespace, "", true},
		access{controllersSA, "create", "coordination.k8s.io", "leases", "elsewhere", "", false},
		access{controllersSA, "update", scim, "scimusers", "elsewhere", "u", true},
	)
	for _, a := range cases {
		// RBAC objects reach the authorizer through its informers: ask
		// until the answer is the expected one, for a bounded time.
		got := allowed(ctx, t, c, a)
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, false, func(ctx context.Context) (bool, error) {
			if got == a.want {
				return true, nil
			}
			got = allowed(ctx, t, c, a)
			return got == a.want, nil
		})
		if got != a.want {
			t.Errorf("%s: allowed = %v, want %v", a, got, a.want)
		}
	}
}

// allowed asks the API server with a SubjectAccessReview.
func allowed(ctx context.Context, t *testing.T, c client.Client, a access) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: a.user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace, Name: a.name,
		},
	}}
	if err := c.Create(ctx, sar); err != nil {
		t.Fatalf("SubjectAccessReview %s: %v", a, err)
	}
	return sar.Status.Allowed
}

// TestRenderedRBACHasNoWildcards: no rule of any rendered Role or ClusterRole
// names "*" as a verb, resource or API group, with default values and with
// every feature on.
func TestRenderedRBACHasNoWildcards(t *testing.T) {
	for _, values := range [][]string{nil, {allFeatures}} {
		for _, o := range render(t, values, "--set", "rbac.allowedRoles={ClusterRole/*,Role/*}") {
			if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
				continue
			}
			var role rbacv1.ClusterRole
			typed(t, o, &role)
			for _, r := range role.Rules {
				// The one non-resource rule: metrics-reader may GET /metrics.
				metricsReader := o.GetName() == "scim-scim-operator-metrics-reader" &&
					slices.Equal(r.NonResourceURLs, []string{"/metrics"}) && slices.Equal(r.Verbs, []string{"get"})
				if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*") ||
					(len(r.NonResourceURLs) > 0 && !metricsReader) {
					t.Errorf("%s %s has a wildcard rule %v", o.GetKind(), o.GetName(), r)
				}
			}
		}
	}
}

// TestBindRulesFollowTheAllowList: the controllers may bind exactly the
// allow-listed roles. resourceNames: ["*"] would match only a role named "*",
// so <kind>/* drops resourceNames instead.
func TestBindRulesFollowTheAllowList(t *testing.T) {
	for _, tc := range []struct {
		reason  string
		allowed string
		want    []rbacv1.PolicyRule
	}{
		{"named ClusterRoles and Roles", "{ClusterRole/view,ClusterRole/edit,Role/app-reader}", []rbacv1.PolicyRule{
			bindRule("clusterroles", "edit", "view"), bindRule("roles", "app-reader")}},
		{"every ClusterRole", "{ClusterRole/*,ClusterRole/view}", []rbacv1.PolicyRule{bindRule("clusterroles")}},
		{"every Role", "{Role/*}", []rbacv1.PolicyRule{bindRule("roles")}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			var got []rbacv1.PolicyRule
			for _, o := range find(render(t, nil, "--set", "rbac.allowedRoles="+tc.allowed), "ClusterRole") {
				var role rbacv1.ClusterRole
				typed(t, o, &role)
				for _, r := range role.Rules {
					if slices.Contains(r.Verbs, "bind") {
						if o.GetName() != "scim-scim-operator-controllers" {
							t.Errorf("ClusterRole %s grants bind: %v", o.GetName(), r)
						}
						got = append(got, r)
					}
				}
			}
			if diff := cmpRules(tc.want, got); diff != "" {
				t.Errorf("bind rules (-want +got):\n%s", diff)
			}
		})
	}
}

func bindRule(resource string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{resource},
		Verbs: []string{"bind"}, ResourceNames: names}
}
