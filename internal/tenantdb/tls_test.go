package tenantdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scim-operator/scim-operator/internal/localpg/pgtest"
	"github.com/scim-operator/scim-operator/internal/tenantdb"
)

// TestCheckTLS is the policy: a non-loopback host needs verify-full unless
// the TenantApp opts out; loopback hosts and Unix sockets keep working with
// sslmode=disable (the tests and make dev).
func TestCheckTLS(t *testing.T) {
	for _, env := range []string{"PGSSLMODE", "PGHOST", "PGSSLROOTCERT", "PGSERVICEFILE"} {
		t.Setenv(env, "")
	}
	remote := []string{"db.example.com", "10.0.0.5", "[2001:db8::1]", "localhost.example.com", "app-rw.tenant.svc"}
	local := []string{"127.0.0.1", "127.0.0.2", "[::1]", "localhost", "LOCALHOST"}
	type tc struct {
		reason  string
		dsn     string
		opt     tenantdb.TLS
		refused bool
	}
	var cases []tc
	for _, mode := range []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full", ""} {
		q := ""
		if mode != "" {
			q = "?sslmode=" + mode
		}
		for _, h := range remote {
			dsn := "postgres://app:pw@" + h + ":5432/app" + q
			cases = append(cases,
				tc{"remote host " + h + " sslmode=" + mode, dsn, tenantdb.TLS{}, mode != "verify-full"},
				tc{"remote host " + h + " sslmode=" + mode + " with the opt-out", dsn, tenantdb.TLS{AllowUnverified: true}, false})
		}
		for _, h := range local {
			cases = append(cases, tc{"loopback host " + h + " sslmode=" + mode, "postgres://app:pw@" + h + ":5432/app" + q, tenantdb.TLS{}, false})
		}
	}
	cases = append(cases,
		tc{"a Unix socket", "host=/var/run/postgresql user=app dbname=app sslmode=disable", tenantdb.TLS{}, false},
		tc{"keyword/value DSN to a remote host", "host=db.example.com user=app sslmode=require", tenantdb.TLS{}, true},
		tc{"keyword/value DSN verify-full", "host=db.example.com user=app sslmode=verify-full", tenantdb.TLS{}, false},
		tc{"a remote host behind a loopback one", "host=localhost,db.example.com user=app sslmode=disable", tenantdb.TLS{}, true},
		tc{"two remote hosts verify-full", "host=a.example.com,b.example.com user=app sslmode=verify-full", tenantdb.TLS{}, false},
	)
	for _, c := range cases {
		err := tenantdb.CheckTLS(c.dsn, c.opt)
		if got := errors.Is(err, tenantdb.ErrInsecure); got != c.refused || (err != nil && !got) {
			t.Errorf("%s: CheckTLS = %v, want refused %v", c.reason, err, c.refused)
		}
	}
}

// TestNewRefusesInsecureDSN: New refuses before any connection, and the
// error does not quote the DSN's password.
func TestNewRefusesInsecureDSN(t *testing.T) {
	_, err := tenantdb.New(context.Background(), tenantdb.Config{DSN: "postgres://app:s3cret@db.example.com/app?sslmode=require"})
	if !errors.Is(err, tenantdb.ErrInsecure) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("New = %v, want ErrInsecure without the password", err)
	}
}

// TestVerifyFullAgainstRealServer: a PostgreSQL serving TLS with a
// certificate of a private CA is reached with sslmode=verify-full when the
// client is given that CA, and refused when given another.
func TestVerifyFullAgainstRealServer(t *testing.T) {
	s, caPEM, otherPEM := pgtest.StartTLS(t)
	dsn := strings.Replace(s.DSN("postgres"), "sslmode=disable", "sslmode=verify-full", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []struct {
		reason string
		roots  []byte
		ok     bool
	}{
		{"the server's CA", caPEM, true},
		{"another CA", otherPEM, false},
	} {
		db, err := tenantdb.New(ctx, tenantdb.Config{DSN: dsn, TLS: tenantdb.TLS{RootCAs: c.roots}, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("%s: New: %v", c.reason, err)
		}
		err = db.Ping(ctx)
		db.Close()
		if (err == nil) != c.ok {
			t.Errorf("%s: Ping = %v, want success %v", c.reason, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: Ping failed for another reason than the certificate: %v", c.reason, err)
		}
	}
}
