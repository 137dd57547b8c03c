package tenantdb

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrInsecure is returned by New for a DSN whose connection to a
// non-loopback host would not verify the server's certificate and name
// (sslmode other than verify-full) while TLS.AllowUnverified is false: the
// operator sends user rows and the database password over it, and require
// encrypts to whoever answers.
var ErrInsecure = errors.New("tenant database connection does not verify the server")

// TLS says how a Postgres client verifies the tenant database server.
type TLS struct {
	// RootCAs, when set, holds the PEM certificates the server certificate
	// must chain to, instead of the DSN's sslrootcert or the system roots:
	// a private CA such as CloudNativePG's <cluster>-ca.
	RootCAs []byte
	// AllowUnverified accepts a DSN that does not verify the server
	// (sslmode disable, allow, prefer, require, verify-ca) to a
	// non-loopback host. Loopback hosts and Unix sockets never need it.
	AllowUnverified bool
}

// CheckTLS reports, as ErrInsecure, whether dsn would connect to a
// non-loopback host without verify-full, unless t allows it. It reads the
// DSN as pgx does, environment (PGSSLMODE, PGHOST) included, and checks every
// host and fallback pgx may try: sslmode prefer and allow fall back to plain
// text.
func CheckTLS(dsn string, t TLS) error {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("%w: the tenant database DSN cannot be parsed", ErrInvalid)
	}
	return checkTLS(cfg, t)
}

func checkTLS(cfg *pgconn.Config, t TLS) error {
	if t.AllowUnverified {
		return nil
	}
	tries := append([]*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port, TLSConfig: cfg.TLSConfig}}, cfg.Fallbacks...)
	for _, f := range tries {
		if isLoopback(f.Host) {
			continue
		}
		if f.TLSConfig == nil || f.TLSConfig.InsecureSkipVerify {
			return fmt.Errorf("%w: host %s needs sslmode=verify-full (or spec.database.tls.insecureSkipVerify)", ErrInsecure, f.Host)
		}
	}
	return nil
}

// isLoopback reports hosts whose traffic never leaves the machine: Unix
// socket directories, localhost and loopback addresses.
func isLoopback(host string) bool {
	if filepath.IsAbs(host) || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// applyRootCAs makes every TLS configuration of cfg verify against t.RootCAs.
func applyRootCAs(cfg *pgconn.Config, t TLS) error {
	if len(t.RootCAs) == 0 {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(t.RootCAs) {
		return fmt.Errorf("%w: the CA bundle holds no PEM certificate", ErrInvalid)
	}
	configs := []*tls.Config{cfg.TLSConfig}
	for _, f := range cfg.Fallbacks {
		configs = append(configs, f.TLSConfig)
	}
	for _, c := range configs {
		if c != nil {
			// verify-ca's VerifyPeerCertificate reads RootCAs when called.
			c.RootCAs = pool
		}
	}
	return nil
}
