package msgauth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"mailwarden/internal/envelope"
	"mailwarden/internal/mime"
	"mailwarden/internal/msgauth/dkim"
	"mailwarden/internal/msgauth/domainkeys"
)

// DomainKeys (RFC 4870): DomainKey-Signature fields of inbound mail are
// checked (domainkeys=), mail from trusted senders of [domainkeys]
// sign_domains is signed.

func init() {
	RegisterVerifier(OrderDomainKeys, "domainkeys", buildDKVerifier)
	RegisterSigner(OrderSignDomainKeys, "domainkeys", buildDKSigner)
}

type dkVerifier struct{ v *domainkeys.Verifier }

func buildDKVerifier(d Deps) (Verifier, error) {
	if d.Config == nil || !d.Config.DomainKeys.Verify {
		return nil, nil
	}
	return &dkVerifier{&domainkeys.Verifier{Lookup: txtLookup(d), Timeout: keyLookupTimeout}}, nil
}

func (v *dkVerifier) Verify(ctx context.Context, m *Message) error {
	if m.lacks("DomainKey-Signature") {
		m.Env.Auth = append(m.Env.Auth, envelope.AuthResult{Method: "domainkeys", Result: "none"})
		return nil
	}
	r, err := m.Content()
	if err != nil {
		return err
	}
	rs, err := v.v.Verify(ctx, r)
	if errors.Is(err, domainkeys.ErrHeaderTooLarge) {
		m.Env.Auth = append(m.Env.Auth, envelope.AuthResult{Method: "domainkeys", Result: "permerror", Comment: err.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		m.Env.Auth = append(m.Env.Auth, envelope.AuthResult{Method: "domainkeys", Result: "none"})
	}
	for _, res := range rs {
		// RFC 8601 2.7.1 and RFC 7001's registry: header.d and
		// header.from or header.sender.
		a := envelope.AuthResult{Method: "domainkeys", Result: res.Status}
		if res.Status != "pass" {
			a.Comment = res.Reason
		} else if res.Testing {
			a.Comment = "key in testing mode"
		}
		if res.Domain != "" {
			a.Props = append(a.Props, envelope.AuthProp{Type: "header", Name: "d", Value: res.Domain})
		}
		if res.Sender != "" {
			a.Props = append(a.Props, envelope.AuthProp{Type: "header", Name: res.SenderHeader, Value: res.Sender})
		}
		m.Env.Auth = append(m.Env.Auth, a)
	}
	return nil
}

type dkSigner struct {
	s     *domainkeys.Signer // with the key file's key
	store *dkim.Store        // else the signing domain's RSA DKIM key
}

func buildDKSigner(d Deps) (Signer, error) {
	c := d.Config
	if c == nil || len(c.DomainKeys.SignDomains) == 0 {
		return nil, nil
	}
	s := &dkSigner{s: &domainkeys.Signer{Domains: c.DomainKeys.SignDomains, Selector: c.DomainKeys.Selector,
		Canon: c.DomainKeys.Canonicalization}}
	if c.DomainKeys.KeyFile == "" {
		if d.DB == nil {
			return nil, nil
		}
		s.store = dkim.NewStore(d.DB, d.Now)
		return s, nil
	}
	key, err := loadRSAKey(c.DomainKeys.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("domainkeys.key_file: %w", err)
	}
	s.s.Key = key
	return s, nil
}

// Sign signs mail from trusted senders whose Sender (else From) domain
// is listed; other mail is not its business.
func (s *dkSigner) Sign(ctx context.Context, m *Message) ([]string, error) {
	if !m.Trusted {
		return nil, nil
	}
	signer := s.s
	if s.store != nil {
		var err error
		if signer, err = s.storeSigner(ctx, m); err != nil || signer == nil {
			return nil, err
		}
	}
	r, err := m.Content()
	if err != nil {
		return nil, err
	}
	f, err := signer.Sign(r)
	if errors.Is(err, domainkeys.ErrNotSender) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{f}, nil
}

// storeSigner picks the listed domain of the message's sender and its
// active RSA DKIM key (DomainKeys knows only RSA); nil when there is none.
func (s *dkSigner) storeSigner(ctx context.Context, m *Message) (*domainkeys.Signer, error) {
	h, err := m.Header()
	if err != nil {
		return nil, err
	}
	vals := h.Values("Sender")
	if len(vals) == 0 {
		vals = h.Values("From")
	}
	if len(vals) == 0 {
		return nil, nil
	}
	addr, err := mail.ParseAddress(mime.Unfold([]byte(vals[0])))
	if err != nil {
		return nil, nil
	}
	d := strings.ToLower(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:])
	for _, sd := range s.s.Domains {
		if d != sd && !strings.HasSuffix(d, "."+sd) {
			continue
		}
		keys, err := s.store.Active(ctx, sd)
		if err != nil {
			return nil, fmt.Errorf("key of %s: %w", sd, err)
		}
		for _, k := range keys {
			if k.Algorithm.KeyType() == "rsa" {
				signer := *s.s
				signer.Domains, signer.Selector, signer.Key = []string{sd}, k.Selector, k.Signer
				return &signer, nil
			}
		}
		return nil, nil
	}
	return nil, nil
}
