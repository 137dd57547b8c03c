package operator

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/scim-operator/scim-operator/internal/telemetry"
)

// TLSFiles names the PEM certificate (chain) and private key the SCIM server
// serves HTTPS with — the tls.crt and tls.key of a mounted kubernetes.io/tls
// Secret — so TLS can reach into the pod behind a passthrough load balancer
// or a Gateway with backend TLS (docs/network.md#in-pod-tls). The zero value
// serves plain HTTP.
type TLSFiles struct {
	CertFile, KeyFile string
}

// Enabled reports whether the SCIM server serves HTTPS.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" }

// Validate refuses half a key pair: a certificate without its key, or the
// reverse, is a mistake to report at start, not a request for plain HTTP.
func (f TLSFiles) Validate() error {
	switch {
	case f.CertFile != "" && f.KeyFile == "":
		return errors.New("--scim-tls-cert-file is set but --scim-tls-key-file is not: give both or neither")
	case f.CertFile == "" && f.KeyFile != "":
		return errors.New("--scim-tls-key-file is set but --scim-tls-cert-file is not: give both or neither")
	}
	return nil
}

// addCertWatcher loads the key pair — an error when it cannot, so the
// process stops before it serves anything — and adds a certwatcher that
// rereads it when the files change (a Secret volume's ..data symlink swapped
// by the kubelet) or every 10 s, and that stops with the manager. It returns
// the handshake callback of the SCIM server's TLS configuration.
func addCertWatcher(mgr manager.Manager, files TLSFiles, log logr.Logger) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	cw, err := certwatcher.New(files.CertFile, files.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the SCIM server's TLS certificate %s and key %s: %w", files.CertFile, files.KeyFile, err)
	}
	expiry := telemetry.Register(metrics.Registry, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "scim_tls_certificate_expiration_timestamp_seconds",
		Help: "Unix time at which the certificate the SCIM server serves (--scim-tls-cert-file) expires.",
	}))
	log = log.WithName("scim-tls")
	// Called at once with the loaded certificate, then after each change.
	cw.RegisterCallback(func(cert tls.Certificate) {
		leaf := cert.Leaf
		if leaf == nil {
			var err error
			if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				log.Error(err, "parsing the served TLS certificate")
				return
			}
		}
		expiry.Set(float64(leaf.NotAfter.Unix()))
		log.Info("serving TLS certificate", "serial", leaf.SerialNumber.String(), "notAfter", leaf.NotAfter)
	})
	if err := mgr.Add(cw); err != nil {
		return nil, fmt.Errorf("adding the TLS certificate watcher: %w", err)
	}
	return cw.GetCertificate, nil
}
