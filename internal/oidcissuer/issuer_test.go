package oidcissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestIssuer checks what kube-apiserver relies on: the discovery document over
// HTTPS trusted through CAPEM, a JWKS whose key verifies the minted tokens,
// and the same trust after a restart.
func TestIssuer(t *testing.T) {
	dir := t.TempDir()
	iss, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(iss.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	var discovery struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	getJSON(t, client, iss.URL+"/.well-known/openid-configuration", &discovery)
	if discovery.Issuer != iss.URL || !strings.HasPrefix(discovery.JWKSURI, iss.URL+"/") || len(discovery.Algs) != 1 || discovery.Algs[0] != "ES256" {
		t.Errorf("discovery document %+v does not match issuer %s", discovery, iss.URL)
	}
	var set JWKS
	getJSON(t, client, discovery.JWKSURI, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}

	before := time.Now().Unix()
	token, err := Mint(dir, "ada@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	claims := verify(t, token, set.Keys[0])
	if claims.Issuer != iss.URL || claims.Audience != Audience || claims.Subject != "ada@example.com" {
		t.Errorf("claims %+v: want iss %s, aud %s, sub ada@example.com", claims, iss.URL, Audience)
	}
	if claims.IssuedAt < before-1 || claims.Expiry-claims.IssuedAt != 3600 {
		t.Errorf("iat %d exp %d: want iat ≥ %d and a 1 h lifetime", claims.IssuedAt, claims.Expiry, before)
	}

	var cfg struct {
		APIVersion, Kind string
		JWT              []struct {
			Issuer struct {
				URL, CertificateAuthority string
				Audiences                 []string
			}
			ClaimMappings struct {
				Username struct{ Claim, Prefix string }
			}
		}
	}
	data, err := iss.AuthenticationConfig("oidc:")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Kind != "AuthenticationConfiguration" || len(cfg.JWT) != 1 || cfg.JWT[0].Issuer.URL != iss.URL ||
		cfg.JWT[0].Issuer.CertificateAuthority != string(iss.CAPEM) || cfg.JWT[0].ClaimMappings.Username.Claim != "sub" ||
		cfg.JWT[0].ClaimMappings.Username.Prefix != "oidc:" || len(cfg.JWT[0].Issuer.Audiences) != 1 {
		t.Errorf("authentication config does not trust the issuer:\n%s", data)
	}

	// A restart keeps the URL (the port is free again), the CA and the key, so old tokens stay valid.
	if err := iss.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.URL != iss.URL || string(again.CAPEM) != string(iss.CAPEM) {
		t.Errorf("after a restart: URL %s (was %s), CA changed %v", again.URL, iss.URL, string(again.CAPEM) != string(iss.CAPEM))
	}
	var set2 JWKS
	getJSON(t, client, again.URL+"/openid/v1/jwks", &set2)
	verify(t, token, set2.Keys[0])
}

func TestMintWithoutIssuer(t *testing.T) {
	if _, err := Mint(t.TempDir(), "ada@example.com", time.Hour); err == nil {
		t.Error("Mint succeeded in a folder where no issuer ever ran")
	}
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// verify checks the token's ES256 signature with key, the way a relying party does, and returns its claims.
func verify(t *testing.T, token string, key JWK) Claims {
	t.Helper()
	enc := base64.RawURLEncoding
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var header struct{ Alg, Kid string }
	decodePart(t, parts[0], &header)
	if header.Alg != "ES256" || header.Kid != key.Kid || key.Kty != "EC" || key.Crv != "P-256" {
		t.Fatalf("header %+v does not match JWK %+v", header, key)
	}
	x, errX := enc.DecodeString(key.X)
	y, errY := enc.DecodeString(key.Y)
	if errX != nil || errY != nil {
		t.Fatalf("JWK coordinates: %v %v", errX, errY)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, %v", len(sig), err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the token does not verify with the published key")
	}
	var claims Claims
	decodePart(t, parts[1], &claims)
	return claims
}

func decodePart(t *testing.T, part string, v any) {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
