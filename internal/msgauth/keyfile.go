package msgauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// loadRSAKey reads the PEM file of an RSA private key (PKCS #1 or #8)
// for ARC sealing or DomainKeys signing. A key others may read is
// refused, as ssh refuses one.
func loadRSAKey(path string) (crypto.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if fi.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("key file %s is readable by everyone: chmod o-r it", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key file %s: no PEM block", path)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("key file %s: PEM block %q, want an RSA PRIVATE KEY or PRIVATE KEY", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key file %s: a %T, not an RSA key", path, key)
	}
	if bits := rk.N.BitLen(); bits < 1024 || bits > 8192 {
		return nil, fmt.Errorf("key file %s: RSA key of %d bits, want 1024 to 8192 (2048 advised)", path, bits)
	}
	return rk, nil
}
