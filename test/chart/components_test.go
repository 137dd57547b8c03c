package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/controllers/tenantapp"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/scimserver"
)

// TestComponentsRunUnderChartRBAC runs the two components as the chart does —
// --components=scim and --components=controllers, each as its own
// ServiceAccount (impersonated) with only the RBAC the chart renders, Secrets
// watched in the Secret namespaces only, and the admission policies installed
// — and drives them end to end: a user provisioned over SCIM gets the finalizer
// of its endpoint's TenantApp from the SCIM server alone, and a user and a
// group provisioned over SCIM become a RoleBinding for a ScimRoleBinding.
func TestComponentsRunUnderChartRBAC(t *testing.T) {
	cp := controlPlane(t)
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const ns = "identity"
	for _, name := range []string{releaseNamespace, ns} {
		create(t, admin, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted",
			"pod-security.kubernetes.io/warn":    "restricted",
		}}})
	}
	var applied []*unstructured.Unstructured
	for _, o := range render(t, nil, "--set", "secretNamespaces={"+ns+"}") {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			applied = append(applied, o)
		}
	}
	kubectlApply(t, writeKubeconfig(t, cp), toYAML(t, applied), false)
	t.Cleanup(func() {
		for _, o := range applied {
			_ = admin.Delete(context.Background(), o)
		}
	})

	const token = "components-test-token-0123456789abcdef"
	create(t, admin, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta-token",
		Labels: map[string]string{scimv1.LabelTokenSecret: "true"}},
		StringData: map[string]string{"token": token}})
	create(t, admin, &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "okta"},
		Spec: scimv1.ScimEndpointSpec{TokenSecretRefs: []scimv1.SecretKeyReference{{Name: "okta-token", Key: "token"}}}})

	// A TenantApp of the endpoint: new users get its finalizer from the SCIM
	// server, which reads the TenantApp index without running the controller.
	create(t, admin, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-db"},
		StringData: map[string]string{"dsn": "postgres://nobody@127.0.0.1:1/app?sslmode=disable"}})
	create(t, admin, &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: scimv1.TenantAppSpec{Endpoint: "okta", Database: scimv1.TenantDatabase{
			ConnectionSecretRef: scimv1.SecretKeyReference{Name: "app-db", Key: "dsn"}}}})

	secretNamespaces := []string{releaseNamespace, ns}
	scim := startComponent(ctx, t, cp, scimSA, operator.Options{Components: operator.ComponentsSCIM,
		SecretNamespaces: secretNamespaces})
	addr, err := scim.SCIM.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + scimserver.PathPrefix + ns + "/okta"

	var user map[string]any
	eventuallyStatus(t, base+"/Users", token, map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "ada@example.com", "active": true,
	}, http.StatusCreated, &user)
	// The controllers are not running yet: the finalizer is the SCIM server's.
	var created scimv1.ScimUser
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: user["id"].(string)}, &created); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(created.Finalizers, tenantapp.FinalizerUsers) {
		t.Errorf("a user created by --components=scim has finalizers %v, want %s (the endpoint has a TenantApp)",
			created.Finalizers, tenantapp.FinalizerUsers)
	}

	startComponent(ctx, t, cp, controllersSA, operator.Options{Components: operator.ComponentsControllers,
		LeaderElection: true, LeaderElectionNamespace: releaseNamespace, LeaderElectionID: "components-test",
		SecretNamespaces: secretNamespaces})
	var group map[string]any
	eventuallyStatus(t, base+"/Groups", token, map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "viewers", "members": []map[string]any{{"value": user["id"]}},
	}, http.StatusCreated, &group)

	create(t, admin, &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: "okta", Group: scimv1.GroupReference{DisplayName: "viewers"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}})
	var subjects []rbacv1.Subject
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var rbs rbacv1.RoleBindingList
		if err := admin.List(ctx, &rbs, client.InNamespace(ns),
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
		t.Fatalf("the controllers never projected the group into a RoleBinding of ClusterRole view: subjects %v", subjects)
	}
}

// startComponent starts one component as user (a ServiceAccount), stopped
// when ctx is cancelled.
func startComponent(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, user string, opts operator.Options) *operator.Operator {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	saNamespace := strings.Split(user, ":")[2]
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace, "system:authenticated"}}
	if opts.MetricsAddr == "" {
		opts.MetricsAddr = "0"
	}
	opts.ProbeAddr, opts.Logger = "0", logr.Discard()
	opts.SkipControllerNameValidation = true
	if opts.Components.SCIM() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		opts.SCIM.Listener = ln
	}
	op, err := operator.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- op.Manager.Start(ctx) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("%s stopped with %v", opts.Components, err)
		}
	})
	return op
}

// eventuallyStatus POSTs body until the answer has status want (the SCIM
// server loads the endpoint's token shortly after it starts), decoding it into out.
func eventuallyStatus(t *testing.T, url, token string, body any, want int, out any) {
	t.Helper()
	data, _ := json.Marshal(body)
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
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
		if resp.StatusCode != want {
			return false, nil
		}
		return true, json.Unmarshal(b, out)
	})
	if err != nil {
		t.Fatalf("POST %s: want %d, last answer %s", url, want, last)
	}
}

// TestControllersReadinessNeedsRBAC: the controllers component is ready only
// once its informers have synced, so a ServiceAccount without the chart's
// RBAC (its lists and watches refused) never reports ready; the SCIM
// component's readiness already waits for its cache.
func TestControllersReadinessNeedsRBAC(t *testing.T) {
	cp := controlPlane(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:nowhere:no-rbac",
		Groups: []string{"system:serviceaccounts", "system:authenticated"}}
	opts := operator.Options{Components: operator.ComponentsControllers, MetricsAddr: "0", ProbeAddr: addr,
		Logger: logr.Discard(), SkipControllerNameValidation: true}
	op, err := operator.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- op.Manager.Start(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			// A manager whose caches never synced can take long to stop;
			// that is not what this test is about.
			t.Log("the manager had not stopped 20 s after its context ended")
		}
	}()
	served := false
	for range 30 {
		time.Sleep(200 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		served = true
		if resp.StatusCode == http.StatusOK {
			t.Fatal("the controllers component reports ready while the API server refuses its watches")
		}
	}
	if !served {
		t.Fatal("the probe endpoint never answered")
	}
}
