package oidcissuer

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Audience is the aud of every token the local issuer mints, and the audience
// the local API server's authenticator requires.
const Audience = "scim-operator-dev"

// Claims are the claims of an ID token minted by the local issuer. The SCIM
// userName is the subject (sub), the claim the API server maps to a username.
type Claims struct {
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	Subject  string `json:"sub"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

// sign returns the compact ES256 JWS of claims: the signature is r||s, each
// 32 bytes big-endian (RFC 7518 §3.4), not ASN.1.
func sign(key *ecdsa.PrivateKey, kid string, claims Claims) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the token: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + enc.EncodeToString(sig), nil
}

// Mint signs an ID token for userName with the key material in dir, for the
// issuer URL the running local mode last published there. It is what
// OIDC_TOKEN_CMD runs, in a process separate from the issuer.
func Mint(dir, userName string, ttl time.Duration) (string, error) {
	if userName == "" {
		return "", fmt.Errorf("a userName is required")
	}
	url, err := os.ReadFile(filepath.Join(dir, urlFile))
	if err != nil {
		return "", fmt.Errorf("reading the issuer URL (is the local mode running?): %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, signingKeyFile)); err != nil {
		return "", err
	}
	k, err := loadOrCreateKeys(dir)
	if err != nil {
		return "", err
	}
	return k.token(strings.TrimSpace(string(url)), userName, time.Now(), ttl)
}

func (k *keys) token(issuer, subject string, now time.Time, ttl time.Duration) (string, error) {
	return sign(k.signing, k.keyID(), Claims{
		Issuer: issuer, Audience: Audience, Subject: subject,
		IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(),
	})
}
