package operations

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestMetricsAfterSCIMTraffic sends Okta-like traffic, a wrong token and no
// token, then scrapes the manager's /metrics as Prometheus would. The SCIM
// series are labelled by endpoint, resource, method and status class — and
// never by anything a client chose (userName, id, token).
func TestMetricsAfterSCIMTraffic(t *testing.T) {
	metricsAddr := freeAddr(t)
	op := start(t, testharness.Options{MetricsAddr: metricsAddr})
	ns := testharness.UniqueName("metrics")
	e := op.NewEndpoint(t, ns, "okta")
	endpointLabel := ns + "/okta"

	userName := "grace.hopper." + testharness.UniqueName("u") + "@example.com"
	created := e.Do(t, http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName, "active": true,
		"name":   map[string]any{"givenName": "Grace", "familyName": "Hopper"},
		"emails": []map[string]any{{"value": userName, "type": "work", "primary": true}},
	})
	if created.Status != http.StatusCreated {
		t.Fatalf("POST /Users = %d: %s", created.Status, created.Body)
	}
	id, _ := created.JSON(t)["id"].(string)
	for _, path := range []string{
		"/Users?filter=" + url.QueryEscape(`userName eq "`+userName+`"`) + "&startIndex=1&count=100",
		"/Users/" + id,
		"/Users?startIndex=1&count=2",
	} {
		if res := e.Do(t, http.MethodGet, path, nil); res.Status != http.StatusOK {
			t.Fatalf("GET %s = %d: %s", path, res.Status, res.Body)
		}
	}
	if res := e.Do(t, http.MethodGet, "/Users/does-not-exist", nil); res.Status != http.StatusNotFound {
		t.Fatalf("GET unknown user = %d, want 404", res.Status)
	}
	wrongToken := "wrong-" + e.Token
	for _, token := range []string{wrongToken, ""} {
		if res := e.DoToken(t, token, http.MethodGet, "/Users", nil); res.Status != http.StatusUnauthorized {
			t.Fatalf("GET /Users with a bad token = %d, want 401", res.Status)
		}
	}

	body, families := scrape(t, metricsAddr)
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "scim_requests_total{") {
			t.Log(line)
		}
	}

	requests := families["scim_requests_total"]
	if requests == nil {
		t.Fatalf("no scim_requests_total in /metrics")
	}
	for _, want := range []struct {
		labels map[string]string
		min    float64
	}{
		{map[string]string{"endpoint": endpointLabel, "resource": "Users", "method": "GET", "code": "2xx"}, 3},
		{map[string]string{"endpoint": endpointLabel, "resource": "Users", "method": "POST", "code": "2xx"}, 1},
		{map[string]string{"endpoint": endpointLabel, "resource": "Users", "method": "GET", "code": "4xx"}, 1},
		{map[string]string{"endpoint": endpointLabel, "resource": "ServiceProviderConfig", "method": "GET", "code": "2xx"}, 1},
		{map[string]string{"endpoint": "unauthenticated", "method": "GET", "code": "4xx"}, 2},
	} {
		if got := sum(requests, want.labels, func(m *dto.Metric) float64 { return m.GetCounter().GetValue() }); got < want.min {
			t.Errorf("scim_requests_total%v = %v, want at least %v", want.labels, got, want.min)
		}
	}
	duration := families["scim_request_duration_seconds"]
	if duration.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("scim_request_duration_seconds is %v, want a histogram", duration.GetType())
	}
	labels := map[string]string{"endpoint": endpointLabel, "resource": "Users", "method": "GET"}
	if got := sum(duration, labels, func(m *dto.Metric) float64 { return float64(m.GetHistogram().GetSampleCount()) }); got < 3 {
		t.Errorf("scim_request_duration_seconds_count%v = %v, want at least 3", labels, got)
	}

	// Labels are bounded: exactly the declared ones, values from a fixed set
	// or the endpoint's namespace/name.
	wantLabels := map[string][]string{
		"scim_requests_total":           {"code", "endpoint", "method", "resource"},
		"scim_request_duration_seconds": {"endpoint", "method", "resource"},
	}
	for name, want := range wantLabels {
		for _, m := range families[name].GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName())
				checkLabelValue(t, name, lp.GetName(), lp.GetValue())
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s has labels %v, want %v", name, got, want)
			}
		}
	}
	for what, secret := range map[string]string{"userName": userName, "user id": id, "token": e.Token, "wrong token": wrongToken} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics contains the %s", what)
		}
	}
}

// checkLabelValue fails on a label value outside the label's bounded set.
func checkLabelValue(t *testing.T, metric, label, value string) {
	t.Helper()
	allowed := map[string]map[string]bool{
		"resource": {"Users": true, "Groups": true, "ServiceProviderConfig": true, "ResourceTypes": true, "Schemas": true, "other": true},
		"method":   {"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "other": true},
		"code":     {"1xx": true, "2xx": true, "3xx": true, "4xx": true, "5xx": true},
	}
	if set, ok := allowed[label]; ok {
		if !set[value] {
			t.Errorf("%s{%s=%q}: value outside the bounded set", metric, label, value)
		}
		return
	}
	// endpoint: "unauthenticated" or <namespace>/<name> of a ScimEndpoint.
	ns, name, ok := strings.Cut(value, "/")
	if value != "unauthenticated" && (!ok || ns == "" || name == "" || strings.ContainsAny(value, "@ ?=\"")) {
		t.Errorf("%s{%s=%q}: not an endpoint namespace/name", metric, label, value)
	}
}

// scrape fetches /metrics and parses it with Prometheus' own text parser.
func scrape(t *testing.T, addr string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	var (
		resp *http.Response
		err  error
	)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err = http.Get("http://" + addr + "/metrics")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d, %v", resp.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("/metrics is not in the Prometheus text format: %v", err)
	}
	return string(data), families
}

// sum adds value(m) over the metrics of f whose labels include want.
func sum(f *dto.MetricFamily, want map[string]string, value func(*dto.Metric) float64) float64 {
	var total float64
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
				break
			}
		}
		if match {
			total += value(m)
		}
	}
	return total
}
