package login

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"mailwarden/internal/config"
)

// Errors of DecodePlain.
var (
	// ErrMalformed: not "[authzid] NUL authcid NUL passwd" (RFC 4616 2).
	ErrMalformed = errors.New("malformed SASL PLAIN message")
	// ErrAuthzid: an authorization identity other than the authentication
	// identity was asked for; proxy authentication is not supported.
	ErrAuthzid = errors.New("authorization identity must be empty or equal the user name")
)

// maxPlainField bounds each of the three fields. RFC 4616 says 255 octets;
// longer passwords exist in the wild, so allow some more.
const maxPlainField = 1024

// DecodePlain splits a decoded SASL PLAIN message (RFC 4616 2):
//
//	message = [authzid] UTF8NUL authcid UTF8NUL passwd
//
// authcid and passwd must not be empty and no field may contain NUL. A
// non-empty authzid must name the same user as authcid (compared without
// regard to case, as addresses are); proxy authentication is not supported.
func DecodePlain(b []byte) (authzid, authcid, password string, err error) {
	if bytes.Count(b, []byte{0}) != 2 {
		return "", "", "", fmt.Errorf("%w: want exactly two NUL separators", ErrMalformed)
	}
	z, rest, _ := bytes.Cut(b, []byte{0})
	c, p, _ := bytes.Cut(rest, []byte{0})
	switch {
	case len(c) == 0:
		return "", "", "", fmt.Errorf("%w: empty user name", ErrMalformed)
	case len(p) == 0:
		return "", "", "", fmt.Errorf("%w: empty password", ErrMalformed)
	case len(z) > maxPlainField || len(c) > maxPlainField || len(p) > maxPlainField:
		return "", "", "", fmt.Errorf("%w: field longer than %d octets", ErrMalformed, maxPlainField)
	}
	authzid, authcid, password = string(z), string(c), string(p)
	if authzid != "" && !strings.EqualFold(authzid, authcid) {
		return "", "", "", ErrAuthzid
	}
	return authzid, authcid, password, nil
}

// PlaintextAllowed reports whether a plaintext mechanism (USER/PASS,
// LOGIN, AUTH PLAIN) may be used: over TLS always, without TLS only from a
// loopback client and only when auth.allow_plaintext_loopback is set
// (Dovecot disable_plaintext_auth, RFC 2595 2.2).
func PlaintextAllowed(tlsActive bool, ip netip.Addr, cfg *config.Config) bool {
	if tlsActive {
		return true
	}
	return cfg != nil && cfg.Auth.AllowPlaintextLoopback && ip.Unmap().IsLoopback()
}
