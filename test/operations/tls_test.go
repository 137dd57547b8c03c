package operations

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/operator"
	"github.com/scim-operator/scim-operator/internal/testcerts"
	"github.com/scim-operator/scim-operator/internal/testharness"
)

// TestInPodTLS serves SCIM over HTTPS from a directory laid out as the kubelet
// lays out a mounted kubernetes.io/tls Secret, provisions a user through a
// client that trusts only the test's CA, then rotates the Secret the kubelet's
// way: new connections must get the new certificate without a restart.
func TestInPodTLS(t *testing.T) {
	ca := testcerts.NewCA(t, "scim-operator test CA")
	first := ca.Issue(t, "scim-operator", time.Now().Add(48*time.Hour))
	vol := newSecretVolume(t)
	vol.write(t, first)

	metricsAddr := freeAddr(t)
	op := start(t, testharness.Options{MetricsAddr: metricsAddr, TLS: vol.files(), TLSRoots: ca.Pool})
	e := op.NewEndpoint(t, testharness.UniqueName("tls"), "okta") // polls until a request over HTTPS answers 200
	if !strings.HasPrefix(e.BaseURL, "https://") {
		t.Fatalf("endpoint base URL %s is not HTTPS", e.BaseURL)
	}
	created := e.Do(t, http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "ada.lovelace@example.com", "active": true,
	})
	if created.Status != http.StatusCreated {
		t.Fatalf("POST /Users over HTTPS = %d: %s", created.Status, created.Body)
	}
	if serial := servedSerial(t, e, ca.Pool); serial.Cmp(first.Serial) != 0 {
		t.Fatalf("served certificate serial %s, want the first's %s", serial, first.Serial)
	}
	checkExpiryMetric(t, metricsAddr, first.NotAfter)

	t.Run("plain HTTP to the TLS port is refused", func(t *testing.T) {
		plain := *e
		plain.BaseURL = "http://" + strings.TrimPrefix(e.BaseURL, "https://")
		plain.HTTP = &http.Client{Timeout: 10 * time.Second}
		res := plain.Do(t, http.MethodGet, "/ServiceProviderConfig", nil)
		if res.Status != http.StatusBadRequest || strings.Contains(string(res.Body), "schemas") {
			t.Errorf("plain HTTP GET = %d %q, want 400 and no SCIM answer", res.Status, res.Body)
		}
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", op.Addr, &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded, want TLS 1.2 at least")
		}
	})

	second := ca.Issue(t, "scim-operator", time.Now().Add(72*time.Hour))
	vol.write(t, second)
	deadline := time.Now().Add(30 * time.Second) // the watcher reacts to the swap, and rereads every 10 s anyway
	for {
		serial := servedSerial(t, e, ca.Pool)
		if serial.Cmp(second.Serial) == 0 {
			break
		}
		if serial.Cmp(first.Serial) != 0 {
			t.Fatalf("served certificate serial %s is neither the first's nor the second's", serial)
		}
		if time.Now().After(deadline) {
			t.Fatal("new connections still get the first certificate 30 s after the Secret volume was rotated")
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkExpiryMetric(t, metricsAddr, second.NotAfter)
}

// TestInPodTLSRefusesABadKeyPair checks that the operator does not start when
// its certificate cannot be loaded, and says which files it could not use.
func TestInPodTLSRefusesABadKeyPair(t *testing.T) {
	ca := testcerts.NewCA(t, "scim-operator test CA")
	vol := newSecretVolume(t)
	vol.write(t, ca.Issue(t, "scim-operator", time.Now().Add(time.Hour)))
	other := ca.Issue(t, "scim-operator", time.Now().Add(time.Hour))
	mismatched := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(mismatched, other.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		reason string
		files  operator.TLSFiles
	}{
		{"missing files", operator.TLSFiles{CertFile: filepath.Join(vol.dir, "nope.crt"), KeyFile: filepath.Join(vol.dir, "nope.key")}},
		{"a key of another certificate", operator.TLSFiles{CertFile: vol.files().CertFile, KeyFile: mismatched}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			op, err := testharness.StartOperatorWith(cp, testharness.Options{TLS: tc.files, TLSRoots: ca.Pool})
			if err == nil {
				_ = op.Stop()
				t.Fatal("the operator started")
			}
			if !strings.Contains(err.Error(), "loading the SCIM server's TLS certificate "+tc.files.CertFile) {
				t.Errorf("error %q does not name the certificate file", err)
			}
		})
	}
}

// servedSerial sends a SCIM request over a new connection that trusts only
// roots and offers HTTP/2, and returns the serial number of the certificate
// the server showed.
func servedSerial(t *testing.T, e *testharness.Endpoint, roots *x509.CertPool) *big.Int {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true, ForceAttemptHTTP2: true}}
	req, err := http.NewRequest(http.MethodGet, e.BaseURL+"/ServiceProviderConfig", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /ServiceProviderConfig over a new connection: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ServiceProviderConfig over a new connection = %d", resp.StatusCode)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("the server answered over %s; it serves HTTP/1.1 only", resp.Proto)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber
}

// checkExpiryMetric scrapes /metrics for the served certificate's expiry.
func checkExpiryMetric(t *testing.T, addr string, want time.Time) {
	t.Helper()
	_, families := scrape(t, addr)
	f := families["scim_tls_certificate_expiration_timestamp_seconds"]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("/metrics has no scim_tls_certificate_expiration_timestamp_seconds")
	}
	if got := int64(f.GetMetric()[0].GetGauge().GetValue()); got != want.Unix() {
		t.Errorf("scim_tls_certificate_expiration_timestamp_seconds = %d, want %d", got, want.Unix())
	}
}

// secretVolume is a directory written the way the kubelet's atomic writer
// writes a Secret volume: the files live in a timestamped directory,
// ..data links to it, and tls.crt and tls.key link into ..data.
type secretVolume struct {
	dir     string
	version int
}

func newSecretVolume(t *testing.T) *secretVolume {
	t.Helper()
	v := &secretVolume{dir: t.TempDir()}
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(v.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func (v *secretVolume) files() operator.TLSFiles {
	return operator.TLSFiles{CertFile: filepath.Join(v.dir, "tls.crt"), KeyFile: filepath.Join(v.dir, "tls.key")}
}

// write puts kp in a new timestamped directory, swaps ..data to it with one
// rename and removes the previous directory.
func (v *secretVolume) write(t *testing.T, kp testcerts.KeyPair) {
	t.Helper()
	v.version++
	ts := fmt.Sprintf("..2026_01_01_00_00_%02d.000000000", v.version)
	if err := os.Mkdir(filepath.Join(v.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": kp.CertPEM, "tls.key": kp.KeyPEM} {
		if err := os.WriteFile(filepath.Join(v.dir, ts, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(v.dir, "..data"))
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}
