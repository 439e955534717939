package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// SelfSigned makes a self-signed ECDSA certificate for dnsNames (the first
// is also its common name) and ips, valid from an hour ago to an hour from
// now. It returns a server config presenting it and a pool trusting it.
func SelfSigned(t testing.TB, dnsNames []string, ips ...net.IP) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool
}

// LocalTLS makes a self-signed certificate for localhost and 127.0.0.1. It
// returns a server config (TLS 1.2 or later), a client config trusting the
// certificate for 127.0.0.1, and the certificate's PEM file for clients
// run as other processes.
func LocalTLS(t testing.TB) (server, client *tls.Config, caFile string) {
	t.Helper()
	server, pool := SelfSigned(t, []string{"localhost"}, net.IPv4(127, 0, 0, 1))
	server.MinVersion = tls.VersionTLS12
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	der := server.Certificates[0].Certificate[0]
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return server, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, caFile
}
