package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Source serves the current certificate to TLS handshakes.
type Source struct {
	cert     atomic.Pointer[tls.Certificate]
	certFile string
	keyFile  string
}

// Files returns the certificate and key paths to use: the configured ones,
// or data_dir/tls/selfsigned.{crt,key}, generated for hostname when
// missing. generated is true when this call created them.
func Files(certFile, keyFile, dataDir, hostname string) (cert, key string, generated bool, err error) {
	if certFile != "" {
		return certFile, keyFile, false, nil
	}
	dir := filepath.Join(dataDir, "tls")
	cert, key = filepath.Join(dir, "selfsigned.crt"), filepath.Join(dir, "selfsigned.key")
	if _, err := os.Stat(cert); err == nil {
		return cert, key, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", false, fmt.Errorf("tls: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", false, fmt.Errorf("tls: %w", err)
	}
	if err := selfSigned(cert, key, hostname); err != nil {
		return "", "", false, err
	}
	return cert, key, true, nil
}

// New loads certFile/keyFile.
func New(certFile, keyFile string) (*Source, error) {
	s := &Source{certFile: certFile, keyFile: keyFile}
	return s, s.Reload()
}

// Reload re-reads the certificate files; on error the old one stays.
func (s *Source) Reload() error {
	c, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s: %w", s.certFile, err)
	}
	s.cert.Store(&c)
	return nil
}

// Config returns a server tls.Config that always uses the current certificate.
func (s *Source) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cert.Load(), nil
		},
	}
}

func selfSigned(certPath, keyPath, hostname string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hostname, Organization: []string{"Mailwarden self-signed"}},
		// Also valid for the loopback names, so local clients (the demo,
		// a webmail on the same host) can verify it by address.
		DNSNames:              loopbackNames(hostname),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: create certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

// loopbackNames is hostname and "localhost", once each.
func loopbackNames(hostname string) []string {
	if hostname == "localhost" {
		return []string{hostname}
	}
	return []string{hostname, "localhost"}
}
