package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/localpg"
	"github.com/scim-operator/scim-operator/internal/testcerts"
)

// StartTLS runs a server for one test that serves TLS with a certificate
// for localhost and 127.0.0.1 issued by a fresh CA, and returns the server,
// that CA's PEM and the PEM of another CA that did not issue it. Its DSN
// still says sslmode=disable; tests replace it.
func StartTLS(t testing.TB) (s *localpg.Server, caPEM, otherCAPEM []byte) {
	t.Helper()
	ca := testcerts.NewCA(t, "pgtest-ca")
	server := ca.Issue(t, "localhost", time.Now().Add(24*time.Hour))
	opts := options()
	opts.TLSCertPEM, opts.TLSKeyPEM = server.CertPEM, server.KeyPEM
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting PostgreSQL with TLS: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return s, ca.PEM, testcerts.NewCA(t, "pgtest-other-ca").PEM
}
