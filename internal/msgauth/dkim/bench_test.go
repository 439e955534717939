package dkim

import (
	"context"
	"crypto"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/dnsx"
)

// staticDNS answers TXT lookups from a map: the benchmarks measure
// signing and verifying, not a DNS server.
type staticDNS map[string]string

func (s staticDNS) LookupTXTTTL(_ context.Context, name string) ([]string, time.Duration, error) {
	if v, ok := s[strings.ToLower(name)]; ok {
		return []string{v}, time.Hour, nil
	}
	return nil, 0, dnsx.ErrNotFound
}
func (s staticDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	t, _, err := s.LookupTXTTTL(ctx, name)
	return t, err
}
func (staticDNS) LookupMX(context.Context, string) ([]dnsx.MX, error) { return nil, dnsx.ErrNotFound }
func (staticDNS) LookupIP(context.Context, string) ([]netip.Addr, error) {
	return nil, dnsx.ErrNotFound
}
func (staticDNS) LookupPTR(context.Context, netip.Addr) ([]string, error) {
	return nil, dnsx.ErrNotFound
}
func (staticDNS) LookupNS(context.Context, string) ([]string, error) { return nil, dnsx.ErrNotFound }
func (staticDNS) LookupA(context.Context, string) ([]netip.Addr, time.Duration, error) {
	return nil, 0, dnsx.ErrNotFound
}

// benchMessage is a plain-text message of about 4 KB.
func benchMessage() string {
	var b strings.Builder
	b.WriteString(strings.Replace(testMessage, "\r\n\r\nHello Bob,", "\r\nX-Mailer: bench\r\nReferences: <a@example.com> <b@example.com>\r\n\r\nHello Bob,", 1))
	for i := 0; b.Len() < 4096; i++ {
		fmt.Fprintf(&b, "Line %d of the report: revenue, costs and the outlook for the next quarter.\r\n", i)
	}
	return b.String()
}

func benchKeys(b *testing.B) map[string][]SigningKey {
	rsaKey, edKey := keys(b)
	r := SigningKey{Domain: "example.com", Selector: "r1", Signer: rsaKey}
	e := SigningKey{Domain: "example.com", Selector: "e1", Signer: edKey}
	return map[string][]SigningKey{"rsa2048": {r}, "ed25519": {e}, "both": {r, e}}
}

func BenchmarkSign(b *testing.B) {
	msg := benchMessage()
	ks := benchKeys(b)
	conf := SignConfig{Oversign: DefaultOversignHeaders}
	for _, name := range []string{"rsa2048", "ed25519", "both"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := Sign(strings.NewReader(msg), ks[name], conf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	msg := benchMessage()
	ks := benchKeys(b)
	dns := staticDNS{}
	for _, k := range ks["both"] {
		a, _ := algorithmOf(k.Signer)
		p, _ := PublicValue(k.Signer.(crypto.Signer))
		dns[k.Selector+"._domainkey.example.com"] = Record(a, p)
	}
	v := NewVerifier(dns, NewTXTCache(0, nil), VerifyConfig{})
	for _, name := range []string{"rsa2048", "ed25519", "both"} {
		fields, err := Sign(strings.NewReader(msg), ks[name], SignConfig{Oversign: DefaultOversignHeaders})
		if err != nil {
			b.Fatal(err)
		}
		signedMsg := signed(fields, msg)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(signedMsg)))
			for b.Loop() {
				rs, err := v.Verify(context.Background(), strings.NewReader(signedMsg))
				if err != nil || rs[0].Result != "pass" {
					b.Fatal(rs, err)
				}
			}
		})
	}
}
