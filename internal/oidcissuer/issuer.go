// Package oidcissuer is the OpenID Connect issuer of the local mode: an HTTPS
// server on 127.0.0.1, under a CA it generates itself, that publishes the
// discovery document and the JWKS kube-apiserver's JWT authenticator fetches,
// and mints ES256 ID tokens for SCIM users. Its key material lives in one
// folder (.dev/oidc) so restarts keep the same trust.
package oidcissuer

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Issuer is a running local OIDC issuer.
type Issuer struct {
	// URL is the issuer identifier (iss), https://127.0.0.1:<port>.
	URL string
	// CAPEM is the certificate of the CA that signed the serving certificate.
	CAPEM []byte

	dir  string
	keys *keys
	srv  *http.Server
	done chan error
}

// Start serves the issuer from dir's key material (created on first use). It
// listens on the port it used last time when that port is free, so tokens
// minted before a restart keep their valid iss; else on a free port.
func Start(dir string) (*Issuer, error) {
	k, err := loadOrCreateKeys(dir)
	if err != nil {
		return nil, err
	}
	cert, err := k.servingCert()
	if err != nil {
		return nil, err
	}
	ln, err := listen(filepath.Join(dir, urlFile))
	if err != nil {
		return nil, err
	}
	iss := &Issuer{URL: "https://" + ln.Addr().String(), CAPEM: k.caPEM, dir: dir, keys: k, done: make(chan error, 1)}
	if err := os.WriteFile(filepath.Join(dir, urlFile), []byte(iss.URL+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("writing the issuer URL: %w", err)
	}
	iss.srv = &http.Server{
		Handler:           iss.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	go func() { iss.done <- iss.srv.Serve(tls.NewListener(ln, iss.srv.TLSConfig)) }()
	return iss, nil
}

func listen(urlPath string) (net.Listener, error) {
	if last, err := os.ReadFile(urlPath); err == nil {
		addr := strings.TrimPrefix(strings.TrimSpace(string(last)), "https://")
		if ln, err := net.Listen("tcp", addr); err == nil && strings.HasPrefix(addr, "127.0.0.1:") {
			return ln, nil
		} else if err == nil {
			ln.Close()
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Close stops serving.
func (i *Issuer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := i.srv.Shutdown(ctx)
	if serveErr := <-i.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

// Token mints an ID token for subject, valid for ttl.
func (i *Issuer) Token(subject string, ttl time.Duration) (string, error) {
	return i.keys.token(i.URL, subject, time.Now(), ttl)
}

func (i *Issuer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.URL + "/openid/v1/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"claims_supported":                      []string{"iss", "aud", "sub", "iat", "exp"},
		})
	})
	mux.HandleFunc("GET /openid/v1/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, i.keys.jwks())
	})
	return mux
}

// JWKS is a JSON Web Key Set (RFC 7517) of EC public keys.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one EC public key of a JWKS.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

func (k *keys) jwks() JWKS {
	// Bytes is the uncompressed point 0x04 || X || Y, 32 bytes each on P-256.
	pub, _ := k.signing.PublicKey.Bytes()
	enc := base64.RawURLEncoding
	return JWKS{Keys: []JWK{{Kty: "EC", Crv: "P-256", X: enc.EncodeToString(pub[1:33]), Y: enc.EncodeToString(pub[33:65]),
		Kid: k.keyID(), Use: "sig", Alg: "ES256"}}}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
