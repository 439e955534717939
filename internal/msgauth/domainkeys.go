package msgauth

import (
	"context"
	"errors"
	"fmt"

	"mailwarden/internal/envelope"
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

type dkSigner struct{ s *domainkeys.Signer }

func buildDKSigner(d Deps) (Signer, error) {
	c := d.Config
	if c == nil || len(c.DomainKeys.SignDomains) == 0 {
		return nil, nil
	}
	key, err := loadRSAKey(c.DomainKeys.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("domainkeys.key_file: %w", err)
	}
	return &dkSigner{&domainkeys.Signer{Domains: c.DomainKeys.SignDomains, Selector: c.DomainKeys.Selector,
		Key: key, Canon: c.DomainKeys.Canonicalization}}, nil
}

// Sign signs mail from trusted senders whose Sender (else From) domain
// is listed; other mail is not its business.
func (s *dkSigner) Sign(_ context.Context, m *Message) ([]string, error) {
	if !m.Trusted {
		return nil, nil
	}
	r, err := m.Content()
	if err != nil {
		return nil, err
	}
	f, err := s.s.Sign(r)
	if errors.Is(err, domainkeys.ErrNotSender) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []string{f}, nil
}
