package scimserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// The scim component serves metrics too: with --metrics-secure it asks the API
// server to check the scraper's token and its right to GET /metrics.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// metrics are the SCIM server's Prometheus series, served on the manager's
// metrics endpoint. Labels are the endpoint, the resource type, the method and
// the status class — never a user, a group or anything a client chose freely.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	shed      *prometheus.CounterVec
	throttled *prometheus.CounterVec
	lastWrite *prometheus.GaugeVec
}

// shedInFlight is the reason label of a request shed at the in-flight cap.
const shedInFlight = "in_flight"

// shedEndpointInFlight is the reason label of a request refused because its
// endpoint has its share of the in-flight slots.
const shedEndpointInFlight = "endpoint_in_flight"

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_requests_total",
			Help: "SCIM requests by endpoint (namespace/name), resource type, method and status class.",
		}, []string{"endpoint", "resource", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scim_request_duration_seconds",
			Help:    "Latency of SCIM requests by endpoint, resource type and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint", "resource", "method"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_requests_shed_total",
			Help: "SCIM requests answered 503 before authentication because the server was at its in-flight cap (--scim-max-in-flight).",
		}, []string{"reason"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_requests_throttled_total",
			Help: "SCIM requests of an authenticated endpoint answered 429 (its rate limit or its share of the in-flight slots); IdPs retry them, so they are counted apart from failures.",
		}, []string{"endpoint"}),
		lastWrite: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scim_endpoint_last_successful_write_timestamp_seconds",
			Help: "Unix time of the endpoint's last SCIM write (POST, PUT, PATCH, DELETE) answered 2xx by this replica.",
		}, []string{"endpoint"}),
	}
	m.requests = telemetry.Register(reg, m.requests)
	m.duration = telemetry.Register(reg, m.duration)
	m.shed = telemetry.Register(reg, m.shed)
	// The reasons are a fixed set: their series exist at 0 before the first
	// shed request, so rate() and alerts see them.
	for _, reason := range []string{shedInFlight, shedEndpointInFlight} {
		m.shed.WithLabelValues(reason)
	}
	m.throttled = telemetry.Register(reg, m.throttled)
	m.lastWrite = telemetry.Register(reg, m.lastWrite)
	return m
}

// newClampMetric is the gauge of endpoints whose spec.rateLimit the
// operator's --max-endpoint-rps/--max-endpoint-burst lowered.
func newClampMetric(reg prometheus.Registerer) *prometheus.GaugeVec {
	return telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scim_endpoint_rate_limit_clamped",
		Help: "1 when the operator's maximum lowered the endpoint's (namespace/name) spec.rateLimit, else 0.",
	}, []string{"endpoint"}))
}

// newValidTokensMetric is the gauge of each endpoint's tokens that resolve:
// at 0 every request of the endpoint's IdP gets 401.
func newValidTokensMetric(reg prometheus.Registerer) *prometheus.GaugeVec {
	return telemetry.Register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scim_endpoint_valid_tokens",
		Help: "Tokens of the endpoint (namespace/name) that resolve (an opted-in Secret key of at least 16 bytes), as this replica loaded them; at 0 every request gets 401.",
	}, []string{"endpoint"}))
}

// defaultRegistry is controller-runtime's registry, served at the manager's /metrics.
func defaultRegistry() prometheus.Registerer { return ctrlmetrics.Registry }

// knownResources bounds the resource label to the routes that exist.
var knownResources = map[string]bool{"Users": true, "Groups": true, "ServiceProviderConfig": true,
	"ResourceTypes": true, "Schemas": true}

var knownMethods = map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true}

// observe records one request. endpoint is "" for requests that did not
// authenticate, so unauthenticated clients cannot create series at will.
func (m *metrics) observe(endpoint, resource, method string, status int, elapsed time.Duration) {
	if endpoint == "" {
		endpoint = "unauthenticated"
	}
	if !knownResources[resource] {
		resource = "other"
	}
	if !knownMethods[method] {
		method = "other"
	}
	m.requests.WithLabelValues(endpoint, resource, method, strconv.Itoa(status/100)+"xx").Inc()
	m.duration.WithLabelValues(endpoint, resource, method).Observe(elapsed.Seconds())
	if endpoint == "unauthenticated" {
		return
	}
	switch {
	case status == http.StatusTooManyRequests:
		m.throttled.WithLabelValues(endpoint).Inc()
	case status/100 == 2 && writeMethods[method]:
		m.lastWrite.WithLabelValues(endpoint).SetToCurrentTime()
	}
}

// writeMethods are the methods that change a resource.
var writeMethods = map[string]bool{http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
