package chart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// withPrometheusRuleAPI tells `helm template` that the cluster serves PrometheusRules.
const withPrometheusRuleAPI = "--api-versions=monitoring.coreos.com/v1/PrometheusRule"

// monitoringValues switch the PrometheusRule and the dashboard on.
var monitoringValues = []string{"--set", "prometheusRule.enabled=true", "--set", "grafanaDashboard.enabled=true",
	withPrometheusRuleAPI}

// query is one PromQL expression the chart ships, and where.
type query struct{ where, expr string }

// chartQueries returns every alert expression of the rendered PrometheusRule
// and every query of the rendered dashboard, and the alerts by name.
func chartQueries(t *testing.T) ([]query, map[string]string) {
	t.Helper()
	objs := render(t, nil, monitoringValues...)
	var queries []query
	alerts := map[string]string{}
	groups, _, _ := unstructured.NestedSlice(one(t, objs, "PrometheusRule").Object, "spec", "groups")
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			rule := r.(map[string]any)
			name, _ := rule["alert"].(string)
			expr, _ := rule["expr"].(string)
			alerts[name] = expr
			queries = append(queries, query{"alert " + name, expr})
		}
	}
	data, _, _ := unstructured.NestedString(one(t, objs, "ConfigMap").Object, "data", "scim-operator.json")
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(data), &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries = append(queries, query{"panel " + p.Title, tg.Expr})
		}
	}
	return queries, alerts
}

// metricNames parses expr with Prometheus' own PromQL parser and returns the
// metric names its selectors read.
func metricNames(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name != "" {
				names = append(names, vs.Name)
			}
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && vs.Name == "" {
					names = append(names, m.Value)
				}
			}
		}
		return nil
	})
	return names, nil
}

// TestMonitoringQueriesParse: every alert and dashboard query is valid PromQL
// that reads at least one metric, and the rule holds the alerts
// docs/monitoring.md describes.
func TestMonitoringQueriesParse(t *testing.T) {
	queries, alerts := chartQueries(t)
	if len(queries) == 0 {
		t.Fatal("no queries rendered")
	}
	for _, q := range queries {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Errorf("%s: %v\n%s", q.where, err, q.expr)
		} else if len(names) == 0 {
			t.Errorf("%s reads no metric: %s", q.where, q.expr)
		}
	}
	var got []string
	for name := range alerts {
		got = append(got, name)
	}
	sort.Strings(got)
	want := []string{"ScimDeprovisioningHeld", "ScimEndpointNoValidTokens", "ScimEndpointQuarantineRisk",
		"ScimEndpointServerErrorRatioHigh", "ScimEndpointServerErrors", "ScimEndpointWritesStalled",
		"ScimOperatorNoLeader", "ScimProjectionLagHigh", "ScimTenantDatabaseDown", "ScimUnauthenticatedRequests"}
	if !slices.Equal(want, got) {
		t.Errorf("alerts = %v, want %v", got, want)
	}
	if expr := alerts["ScimEndpointQuarantineRisk"]; !strings.Contains(expr, "> 0.5") {
		t.Errorf("ScimEndpointQuarantineRisk does not use prometheusRule.quarantineRiskRatio (0.5): %s", expr)
	}
}

// TestMonitoringMetricsExistAfterTraffic starts the operator (leader
// election on, as the chart runs it), sends the traffic the alerts watch —
// users, a group, a binding projected twice, a rate-limited endpoint's 429,
// a TenantApp whose database does not answer — scrapes /metrics and checks
// that every metric the rule and the dashboard name is served: a renamed or
// misspelt metric fails here, not silently in production.
func TestMonitoringMetricsExistAfterTraffic(t *testing.T) {
	queries, _ := chartQueries(t)
	need := map[string]string{} // metric -> first query naming it
	for _, q := range queries {
		names, err := metricNames(q.expr)
		if err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		for _, n := range names {
			if _, ok := need[n]; !ok {
				need[n] = q.where
			}
		}
	}

	cp := controlPlane(t)
	metricsAddr := freeAddr(t)
	op, err := testharness.StartOperatorWith(cp, testharness.Options{MetricsAddr: metricsAddr, LeaderElection: true,
		LeaderElectionID: testharness.UniqueName("monitoring")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})
	ns := testharness.Namespace(t)
	e := op.NewEndpoint(t, ns, "okta")
	sendProjectedTraffic(t, op, e)

	// A rate-limited endpoint answers 429.
	slow := op.NewEndpoint(t, ns, "slow", func(ep *scimv1.ScimEndpoint) {
		ep.Spec.RateLimit = scimv1.RateLimit{RequestsPerSecond: 1, Burst: 1}
	})
	throttled := false
	for i := 0; i < 20 && !throttled; i++ {
		throttled = slow.Do(t, http.MethodGet, "/Users", nil).Status == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("the endpoint limited to 1 request a second never answered 429")
	}

	// A TenantApp whose database refuses connections.
	create(t, op.Client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-db"},
		StringData: map[string]string{"dsn": "postgres://nobody@127.0.0.1:1/app?sslmode=disable"}})
	create(t, op.Client, &scimv1.TenantApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: scimv1.TenantAppSpec{Endpoint: "okta", Database: scimv1.TenantDatabase{
			ConnectionSecretRef: scimv1.SecretKeyReference{Name: "app-db", Key: "dsn"}}}})

	var families map[string]*dto.MetricFamily
	testharness.Eventually(t, 60*time.Second, func() string {
		var err error
		if families, err = scrapeFamilies(metricsAddr); err != nil {
			return err.Error()
		}
		var missing []string
		for name, where := range need {
			if !served(families, name) {
				missing = append(missing, fmt.Sprintf("%s (%s)", name, where))
			}
		}
		sort.Strings(missing)
		return testharness.Unless(len(missing) == 0, "every metric the monitoring queries name is served",
			"missing: "+strings.Join(missing, ", "))
	})
	if got := sumOf(families["scim_requests_throttled_total"], "endpoint", ns+"/slow"); got < 1 {
		t.Errorf("scim_requests_throttled_total{endpoint=%q} = %v, want the 429 counted", ns+"/slow", got)
	}
	if got := sumOf(families["scim_endpoint_valid_tokens"], "endpoint", ns+"/okta"); got != 1 {
		t.Errorf("scim_endpoint_valid_tokens{endpoint=%q} = %v, want 1", ns+"/okta", got)
	}
}

// sendProjectedTraffic provisions two users and a group of both over SCIM,
// binds the group, then deactivates one user after the first projection, so
// the RBAC projection applies a newer write (and asks the deprovisioning
// guard) and records its lag.
func sendProjectedTraffic(t *testing.T, op *testharness.Operator, e *testharness.Endpoint) {
	t.Helper()
	user := func(name string) string {
		res := e.Do(t, http.MethodPost, "/Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name, "active": true})
		if res.Status != http.StatusCreated {
			t.Fatalf("POST /Users = %d: %s", res.Status, res.Body)
		}
		return res.JSON(t)["id"].(string)
	}
	ada, grace := user("ada@example.com"), user("grace@example.com")
	res := e.Do(t, http.MethodPost, "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "viewers", "members": []map[string]any{{"value": ada}, {"value": grace}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("POST /Groups = %d: %s", res.Status, res.Body)
	}
	create(t, op.Client, &scimv1.ScimRoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: "viewers"},
		Spec: scimv1.ScimRoleBindingSpec{Endpoint: e.Name, Group: scimv1.GroupReference{DisplayName: "viewers"},
			RoleRef: scimv1.RoleRef{Kind: "ClusterRole", Name: "view"}}})
	waitSubjects(t, op.Client, e.Namespace, 2)
	res = e.Do(t, http.MethodPatch, "/Users/"+ada, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "replace", "value": map[string]any{"active": false}}}})
	if res.Status != http.StatusOK {
		t.Fatalf("deactivating PATCH = %d: %s", res.Status, res.Body)
	}
	waitSubjects(t, op.Client, e.Namespace, 1)
}

// waitSubjects waits until the operator's RoleBindings in ns hold n subjects.
func waitSubjects(t *testing.T, c client.Client, ns string, n int) {
	t.Helper()
	testharness.Eventually(t, 30*time.Second, func() string {
		var rbs rbacv1.RoleBindingList
		if err := c.List(context.Background(), &rbs, client.InNamespace(ns),
			client.MatchingLabels{scimv1.LabelManagedBy: scimv1.ManagedByValue}); err != nil {
			return err.Error()
		}
		got := 0
		for _, rb := range rbs.Items {
			got += len(rb.Subjects)
		}
		return testharness.Unless(got == n, fmt.Sprintf("the RoleBindings hold %d subjects", n), fmt.Sprintf("%d subjects", got))
	})
}

// served reports whether /metrics holds name: a family of that name, or the
// _bucket, _sum or _count series of a histogram.
func served(families map[string]*dto.MetricFamily, name string) bool {
	if f, ok := families[name]; ok && len(f.GetMetric()) > 0 {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := families[base]; f.GetType() == dto.MetricType_HISTOGRAM && len(f.GetMetric()) > 0 {
				return true
			}
		}
	}
	return false
}

// scrapeFamilies fetches /metrics over plain HTTP and parses it with
// Prometheus' text parser.
func scrapeFamilies(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics = %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(strings.NewReader(string(data)))
}

// sumOf adds the values of f's series whose label has value.
func sumOf(f *dto.MetricFamily, label, value string) float64 {
	total := 0.0
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

// TestMonitoringTemplates: the PrometheusRule and the dashboard are off by
// default, the rule renders only where its API is served, the dashboard
// ConfigMap carries the JSON file and the sidecar's label, and the
// ServiceMonitor scrapes HTTPS with Prometheus' token exactly when metrics
// are secure.
func TestMonitoringTemplates(t *testing.T) {
	defaults := render(t, nil, withPrometheusRuleAPI, withServiceMonitorAPI)
	if n := len(find(defaults, "PrometheusRule")) + len(find(defaults, "ConfigMap")); n != 0 {
		t.Errorf("default values render %d PrometheusRules and dashboard ConfigMaps, want none", n)
	}
	if n := len(find(render(t, nil, "--set", "prometheusRule.enabled=true"), "PrometheusRule")); n != 0 {
		t.Errorf("rendered %d PrometheusRules without the monitoring.coreos.com/v1 API", n)
	}
	for _, d := range find(defaults, "Deployment") {
		args, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		c := args[0].(map[string]any)
		if !slices.Contains(c["args"].([]any), any("--metrics-secure=true")) {
			t.Errorf("Deployment %s args %v lack --metrics-secure=true", d.GetName(), c["args"])
		}
	}

	t.Run("dashboard ConfigMap", func(t *testing.T) {
		cm := one(t, render(t, nil, "--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring"), "ConfigMap")
		if cm.GetLabels()["grafana_dashboard"] != "1" || cm.GetNamespace() != "monitoring" {
			t.Errorf("dashboard ConfigMap labels %v in %s, want grafana_dashboard=1 in monitoring", cm.GetLabels(), cm.GetNamespace())
		}
		got, _, _ := unstructured.NestedString(cm.Object, "data", "scim-operator.json")
		want := readFile(t, chartDir+"/dashboards/scim-operator.json")
		if strings.TrimSpace(got) != strings.TrimSpace(want) {
			t.Errorf("the ConfigMap's dashboard differs from dashboards/scim-operator.json")
		}
	})

	for _, tc := range []struct {
		reason string
		set    []string
		scheme string
	}{
		{"secure metrics", nil, "https"},
		{"plain metrics", []string{"--set", "metrics.secure=false"}, ""},
	} {
		t.Run("ServiceMonitor with "+tc.reason, func(t *testing.T) {
			objs := render(t, nil, append([]string{"--set", "serviceMonitor.enabled=true", withServiceMonitorAPI}, tc.set...)...)
			eps, _, _ := unstructured.NestedSlice(one(t, objs, "ServiceMonitor").Object, "spec", "endpoints")
			ep := eps[0].(map[string]any)
			scheme, _ := ep["scheme"].(string)
			_, hasToken := ep["bearerTokenFile"]
			if scheme != tc.scheme || hasToken != (tc.scheme == "https") {
				t.Errorf("ServiceMonitor endpoint %v: want scheme %q with a bearer token exactly for https", ep, tc.scheme)
			}
			reader := false
			for _, cr := range find(objs, "ClusterRole") {
				reader = reader || strings.HasSuffix(cr.GetName(), "-metrics-reader")
			}
			if reader != (tc.scheme == "https") {
				t.Errorf("metrics-reader ClusterRole rendered: %v; it belongs with secure metrics only", reader)
			}
		})
	}

	t.Run("metrics readers", func(t *testing.T) {
		objs := render(t, []string{allFeatures})
		var crb rbacv1.ClusterRoleBinding
		typed(t, named(t, objs, "ClusterRoleBinding", "scim-scim-operator-metrics-reader"), &crb)
		want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus-kube-prometheus-prometheus", Namespace: "monitoring"}}
		if !slices.Equal(crb.Subjects, want) || crb.RoleRef.Name != "scim-scim-operator-metrics-reader" {
			t.Errorf("metrics-reader binding = %v to %s, want %v", crb.Subjects, crb.RoleRef.Name, want)
		}
	})
}

// readFile returns the file's content.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
