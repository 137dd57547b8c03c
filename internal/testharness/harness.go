// Package testharness runs the whole operator (manager, SCIM server,
// reconcilers) against a real control plane for end-to-end tests, and gives
// tests a SCIM client bound to a freshly created endpoint.
package testharness

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	scimv1 "github.com/scim-operator/scim-operator/api/v1alpha1"
	"github.com/scim-operator/scim-operator/internal/controlplane"
	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/scimserver"
)

// Operator is a running operator against a control plane.
type Operator struct {
	CP     *controlplane.ControlPlane
	Client client.Client // uncached admin client
	Addr   string        // SCIM server address, host:port
	// Manager is the operator's manager; Manager.Elected() is closed once
	// this operator runs the reconcilers (at once without leader election).
	Manager manager.Manager
	// TLSRoots is Options.TLSRoots: with it, endpoints are reached over
	// HTTPS and their clients trust these roots only.
	TLSRoots *x509.CertPool
	stop     context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// StartOperator starts an operator on cp with its SCIM server on a free
// loopback port. leaderElection puts the reconcilers behind a Lease in
// namespace default, so several operators can share one control plane.
func StartOperator(cp *controlplane.ControlPlane, leaderElection bool) (*Operator, error) {
	return StartOperatorWith(cp, Options{LeaderElection: leaderElection})
}

// Options configures StartOperatorWith; the zero value is StartOperator(cp, false).
type Options struct {
	// LeaderElection puts the reconcilers behind a Lease in namespace default.
	LeaderElection bool
	// MetricsAddr serves the manager's /metrics (e.g. "127.0.0.1:<port>");
	// empty disables it.
	MetricsAddr string
	// LeaseDuration, RenewDeadline, RetryPeriod and KeepLeaseOnStop are passed
	// to operator.Options; zero values keep controller-runtime's defaults.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	KeepLeaseOnStop                           bool
	// Components selects what the operator runs (zero: everything).
	Components operator.Components
	// LeaderElectionID names the Lease (default: the operator's).
	LeaderElectionID string
	// SCIM configures the SCIM server; its Listener is always the harness's.
	// The zero value keeps the server's defaults, and no rate limit clamp.
	SCIM scimserver.Options
	// TLS makes the SCIM server serve HTTPS with these files, as
	// --scim-tls-cert-file and --scim-tls-key-file do; endpoints' clients
	// then trust TLSRoots.
	TLS      operator.TLSFiles
	TLSRoots *x509.CertPool
	// SCIMPeers is operator.Options.SCIMPeers (--scim-peer-selector).
	SCIMPeers operator.Peers
}

// StartOperatorWith is StartOperator with more knobs: a metrics address and
// leader election timings.
func StartOperatorWith(cp *controlplane.ControlPlane, opts Options) (*Operator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	scimOpts := opts.SCIM
	scimOpts.Listener = ln
	metricsAddr := opts.MetricsAddr
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	op, err := operator.New(cp.Config, operator.Options{
		MetricsAddr: metricsAddr, ProbeAddr: "0",
		LeaderElection: opts.LeaderElection, LeaderElectionNamespace: "default",
		LeaseDuration: opts.LeaseDuration, RenewDeadline: opts.RenewDeadline, RetryPeriod: opts.RetryPeriod,
		KeepLeaseOnStop:  opts.KeepLeaseOnStop,
		LeaderElectionID: opts.LeaderElectionID,
		Logger:           testLogger(),
		Components:       opts.Components,
		SCIM:             scimOpts,
		SCIMTLS:          opts.TLS,
		SCIMPeers:        opts.SCIMPeers,
		// Tests start many operators in one process, several at once.
		SkipControllerNameValidation: true,
	})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Operator{CP: cp, Manager: op.Manager, TLSRoots: opts.TLSRoots, stop: cancel, done: make(chan error, 1)}
	go func() { o.done <- op.Manager.Start(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if o.Addr, err = op.SCIM.Addr(wctx); err != nil {
		cancel()
		return nil, fmt.Errorf("waiting for the SCIM server: %w", err)
	}
	if o.Client, err = cp.Client(); err != nil {
		cancel()
		return nil, err
	}
	return o, nil
}

// testLogger logs to stderr when SCIM_TEST_LOG is set, else nowhere.
func testLogger() logr.Logger {
	w := io.Discard
	if os.Getenv("SCIM_TEST_LOG") != "" {
		w = os.Stderr
	}
	l := zap.New(zap.WriteTo(w), zap.UseDevMode(true))
	ctrllog.SetLogger(l)
	return l
}

// Stop stops the operator and waits for it. It is idempotent: a test may stop
// an operator itself and leave the same call to its cleanup; later calls
// return the first result.
func (o *Operator) Stop() error {
	o.stopOnce.Do(func() {
		o.stop()
		o.stopErr = <-o.done
	})
	return o.stopErr
}

// Endpoint is a ScimEndpoint created for one test, with a SCIM client.
type Endpoint struct {
	Namespace, Name, Token, BaseURL string
	HTTP                            *http.Client
}

// NewEndpoint creates a namespace, a token Secret and a ScimEndpoint, and
// waits until the SCIM server accepts the token.
func (o *Operator) NewEndpoint(t testing.TB, ns, name string, mutate ...func(*scimv1.ScimEndpoint)) *Endpoint {
	t.Helper()
	ctx := context.Background()
	_ = o.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	token := hex.EncodeToString(buf)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-token",
		Labels: map[string]string{scimv1.LabelTokenSecret: "true"}},
		StringData: map[string]string{"token": token}}
	if err := o.Client.Create(ctx, secret); err != nil {
		t.Fatalf("creating token Secret: %v", err)
	}
	ep := &scimv1.ScimEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: scimv1.ScimEndpointSpec{
			TokenSecretRefs: []scimv1.SecretKeyReference{{Name: name + "-token", Key: "token"}},
			RateLimit:       scimv1.RateLimit{RequestsPerSecond: 100000, Burst: 100000},
		}}
	for _, m := range mutate {
		m(ep)
	}
	if err := o.Client.Create(ctx, ep); err != nil {
		t.Fatalf("creating ScimEndpoint: %v", err)
	}
	scheme, transport := "http://", &http.Transport{MaxIdleConnsPerHost: 128}
	if o.TLSRoots != nil {
		scheme, transport.TLSClientConfig = "https://", &tls.Config{RootCAs: o.TLSRoots}
	}
	e := &Endpoint{Namespace: ns, Name: name, Token: token,
		BaseURL: scheme + o.Addr + scimserver.PathPrefix + ns + "/" + name,
		HTTP:    &http.Client{Timeout: 60 * time.Second, Transport: transport}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := e.Do(t, "GET", "/ServiceProviderConfig", nil)
		if resp.Status == http.StatusOK {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s/%s never accepted its token (last status %d)", ns, name, resp.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Response is a decoded SCIM response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
	return m
}

// Do sends a request with the endpoint's token. body may be nil, a string
// (sent verbatim) or any value (JSON-encoded).
func (e *Endpoint) Do(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	return e.DoToken(t, e.Token, method, path, body, headers...)
}

// DoToken is Do with another bearer token ("" sends none).
func (e *Endpoint) DoToken(t testing.TB, token, method, path string, body any, headers ...string) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.BaseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}
