package chart

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/scim-operator/scim-operator/internal/operator"
)

// TestMetricsNeedAnAuthorizedToken runs both components as the chart does
// (--metrics-secure, each as its ServiceAccount with only the chart's RBAC)
// and scrapes their /metrics over HTTPS with real ServiceAccount tokens: no
// token gets 401, the token of a ServiceAccount outside metrics.readers 403,
// and Prometheus' token — bound to the metrics-reader ClusterRole — 200.
func TestMetricsNeedAnAuthorizedToken(t *testing.T) {
	cp := controlPlane(t)
	admin, err := cp.Client()
	if err != nil {
		t.Fatal(err)
	}
	clientset, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const monitoring = "monitoring"
	for _, name := range []string{releaseNamespace, monitoring} {
		create(t, admin, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	var applied []*unstructured.Unstructured
	for _, o := range render(t, nil, "--set", "metrics.readers[0].kind=ServiceAccount",
		"--set", "metrics.readers[0].name=prometheus", "--set", "metrics.readers[0].namespace="+monitoring) {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			applied = append(applied, o)
		}
	}
	kubectlApply(t, writeKubeconfig(t, cp), toYAML(t, applied), false)
	t.Cleanup(func() {
		for _, o := range applied {
			_ = admin.Delete(context.Background(), o)
		}
	})
	tokens := map[string]string{}
	for _, sa := range []string{"prometheus", "stranger"} {
		create(t, admin, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: monitoring, Name: sa}})
		tr, err := clientset.CoreV1().ServiceAccounts(monitoring).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("requesting a token of ServiceAccount %s: %v", sa, err)
		}
		tokens[sa] = tr.Status.Token
	}
	// The operator caches a denial for 30 s: ask only once the API server's
	// authorizer sees the binding.
	eventually(t, "Prometheus may GET /metrics", func() error {
		sar, err := clientset.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: "system:serviceaccount:" + monitoring + ":prometheus",
				NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if !sar.Status.Allowed {
			return fmt.Errorf("not yet allowed: %s", sar.Status.Reason)
		}
		return nil
	})

	for _, c := range []struct {
		user string
		opts operator.Options
	}{
		{scimSA, operator.Options{Components: operator.ComponentsSCIM}},
		{controllersSA, operator.Options{Components: operator.ComponentsControllers, LeaderElection: true,
			LeaderElectionNamespace: releaseNamespace, LeaderElectionID: "metrics-test"}},
	} {
		t.Run(string(c.opts.Components), func(t *testing.T) {
			addr := freeAddr(t)
			c.opts.MetricsAddr, c.opts.MetricsSecure = addr, true
			c.opts.SecretNamespaces = []string{releaseNamespace}
			// Stopped before startComponent's cleanup waits for it.
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			startComponent(ctx, t, cp, c.user, c.opts)
			url := "https://" + addr + "/metrics"
			for _, tc := range []struct {
				reason string
				token  string
				want   int // 0: refused, whatever the status (a token the API server cannot parse gets 500)
			}{
				{"no token", "", http.StatusUnauthorized},
				{"a token that is no ServiceAccount's", "not-a-token", 0},
				{"a ServiceAccount not bound to metrics-reader", tokens["stranger"], http.StatusForbidden},
				{"Prometheus, bound to metrics-reader", tokens["prometheus"], http.StatusOK},
			} {
				status, body := scrapeTLS(t, url, tc.token)
				if tc.want == 0 && status == http.StatusOK {
					t.Errorf("%s: GET /metrics = 200, want it refused", tc.reason)
				}
				if tc.want != 0 && status != tc.want {
					t.Errorf("%s: GET /metrics = %d, want %d: %.200s", tc.reason, status, tc.want, body)
				}
				if status == http.StatusOK && !strings.Contains(body, "# TYPE go_goroutines gauge") {
					t.Errorf("%s: GET /metrics = 200 but not Prometheus' text format: %.200s", tc.reason, body)
				}
			}
			if status, _ := scrapePlain(addr); status == http.StatusOK {
				t.Errorf("plain HTTP GET /metrics = 200, want the TLS port to refuse it")
			}
		})
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// scrapeTLS GETs url with token as Prometheus would (the operator's
// certificate is self-signed), retrying until the server listens.
func scrapeTLS(t *testing.T, url, token string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var (
		status int
		body   string
		last   error
	)
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		status, body = resp.StatusCode, string(b)
		return true, nil
	})
	if err != nil {
		t.Fatalf("GET %s: %v", url, last)
	}
	return status, body
}

// scrapePlain GETs /metrics over plain HTTP.
func scrapePlain(addr string) (int, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}
