package oidcissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names under the issuer's folder. The CA and the signing key persist, so
// a restarted local mode trusts the same issuer and accepts tokens minted before.
const (
	caCertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	signingKeyFile = "signing.key"
	urlFile        = "issuer-url"
)

// keys is the issuer's key material: a self-signed CA that signs the serving
// certificate, and the ES256 key that signs tokens.
type keys struct {
	caCert  *x509.Certificate
	caPEM   []byte
	caKey   *ecdsa.PrivateKey
	signing *ecdsa.PrivateKey
}

// loadOrCreateKeys reads the key material from dir, creating what is missing.
func loadOrCreateKeys(dir string) (*keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	signing, err := loadOrCreateKey(filepath.Join(dir, signingKeyFile))
	if err != nil {
		return nil, err
	}
	caKey, err := loadOrCreateKey(filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, err
	}
	k := &keys{caKey: caKey, signing: signing}
	certPath := filepath.Join(dir, caCertFile)
	if k.caPEM, err = os.ReadFile(certPath); err == nil {
		if k.caCert, err = parseCert(k.caPEM); err == nil && k.caCert.PublicKey.(*ecdsa.PublicKey).Equal(&caKey.PublicKey) {
			return k, nil
		}
	}
	if k.caCert, k.caPEM, err = newCA(caKey); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certPath, k.caPEM, 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", certPath, err)
	}
	return k, nil
}

func loadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	if data, err := os.ReadFile(path); err == nil {
		if block, _ := pem.Decode(data); block != nil {
			if key, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
				if ec, ok := key.(*ecdsa.PrivateKey); ok {
					return ec, nil
				}
			}
		}
		return nil, fmt.Errorf("%s holds no PKCS#8 ECDSA key; remove it to start over", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return key, nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func serial() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) }

// newCA self-signs a CA certificate valid for ten years.
func newCA(key *ecdsa.PrivateKey) (*x509.Certificate, []byte, error) {
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "scim-operator local OIDC issuer CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the issuer CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), err
}

// servingCert issues a fresh certificate for 127.0.0.1 and localhost from the CA;
// it is not persisted, the CA is what clients trust.
func (k *keys) servingCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	sn, err := serial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, k.caCert, &key.PublicKey, k.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issuing the serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// keyID names the signing key in the JWKS and in token headers: a digest of
// the public key, so a new key gets a new id.
func (k *keys) keyID() string {
	pub, _ := k.signing.PublicKey.Bytes()
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
