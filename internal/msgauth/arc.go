package msgauth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/arc"
	"mailwarden/internal/msgauth/dkim"
)

// ARC (RFC 8617): the chain of inbound mail is validated (arc= and
// m.ARC for DMARC), and inbound mail forwarded off this host is sealed.

func init() {
	RegisterVerifier(OrderARC, "arc", buildARCVerifier)
	RegisterSigner(OrderSealARC, "arc", buildARCSealer)
}

// keyLookupTimeout bounds each DNS key lookup of ARC and DomainKeys.
const keyLookupTimeout = 10 * time.Second

// txtLookup asks for key records through the cache DKIM verification
// uses: the same _domainkey names, public data kept for their TTL.
func txtLookup(d Deps) func(context.Context, string) ([]string, error) {
	if d.DNS == nil {
		return nil // every key lookup is then a temperror
	}
	return func(ctx context.Context, name string) ([]string, error) {
		return dkimCache.Lookup(ctx, d.DNS, name)
	}
}

type arcVerifier struct{ v *arc.Verifier }

func buildARCVerifier(d Deps) (Verifier, error) {
	if d.Config == nil || !d.Config.ARC.Verify {
		return nil, nil
	}
	return &arcVerifier{&arc.Verifier{Lookup: txtLookup(d), Timeout: keyLookupTimeout}}, nil
}

func (a *arcVerifier) Verify(ctx context.Context, m *Message) error {
	if m.lacks("ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results") {
		res := &arc.Result{Status: arc.None}
		m.ARC = ARCVerdict{Result: string(res.Status)}
		m.Env.Auth = append(m.Env.Auth, arcResult(res, m.Env))
		return nil
	}
	r, err := m.Content()
	if err != nil {
		return err
	}
	res, err := a.v.Verify(ctx, r)
	if errors.Is(err, arc.ErrHeaderTooLarge) {
		m.Env.Auth = append(m.Env.Auth, envelope.AuthResult{Method: "arc", Result: "permerror", Comment: err.Error()})
		m.ARC = ARCVerdict{Result: "fail"}
		return nil
	}
	if err != nil {
		return err
	}
	m.ARC = ARCVerdict{Result: string(res.Status), Sealers: res.Sealers, OldestAAR: res.OldestAAR}
	m.Env.Auth = append(m.Env.Auth, arcResult(res, m.Env))
	return nil
}

// arcResult writes a validation as RFC 8617 7 registers it:
// arc=pass (i=N) header.oldest-pass=K smtp.remote-ip=IP.
func arcResult(res *arc.Result, env *envelope.Envelope) envelope.AuthResult {
	r := envelope.AuthResult{Method: "arc", Result: string(res.Status)}
	switch res.Status {
	case arc.Pass:
		r.Comment = "i=" + strconv.Itoa(res.Instances)
		r.Props = append(r.Props, envelope.AuthProp{Type: "header", Name: "oldest-pass", Value: strconv.Itoa(res.OldestPass)})
	case arc.Fail, arc.TempError:
		r.Comment = res.Reason
	}
	if res.Status != arc.None && env.ClientIP.IsValid() {
		r.Props = append(r.Props, envelope.AuthProp{Type: "smtp", Name: "remote-ip", Value: env.ClientIP.String()})
	}
	return r
}

type arcSealer struct {
	s      *arc.Sealer
	v      *arc.Verifier
	host   string
	store  *dkim.Store // the key when there is no key file
	domain string
}

func buildARCSealer(d Deps) (Signer, error) {
	c := d.Config
	if c == nil || !c.ARC.Sealing() {
		return nil, nil
	}
	a := &arcSealer{
		s:      &arc.Sealer{Domain: c.SealDomain(), Selector: c.ARC.Selector, Now: d.Now},
		v:      &arc.Verifier{Lookup: txtLookup(d), Timeout: keyLookupTimeout},
		host:   c.Hostname,
		domain: c.SealDomain(),
	}
	if c.ARC.KeyFile == "" {
		if d.DB == nil {
			return nil, nil
		}
		// The sealing domain's active RSA DKIM key (dkim keygen), with
		// its selector.
		a.store = dkim.NewStore(d.DB, d.Now)
		return a, nil
	}
	key, err := loadRSAKey(c.ARC.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("arc.key_file: %w", err)
	}
	a.s.Key = key
	return a, nil
}

// sealer returns the sealer with its key: the key file's, or the active
// RSA key of the sealing domain in the DKIM key store (nil when it has
// none: ed25519 seals are not understood by other verifiers).
func (a *arcSealer) sealer(ctx context.Context) (*arc.Sealer, error) {
	if a.store == nil {
		return a.s, nil
	}
	keys, err := a.store.Active(ctx, a.domain)
	if err != nil {
		return nil, fmt.Errorf("sealing key of %s: %w", a.domain, err)
	}
	for _, k := range keys {
		if k.Algorithm.KeyType() == "rsa" {
			s := *a.s
			s.Key, s.Selector = k.Signer, k.Selector
			return &s, nil
		}
	}
	return nil, nil
}

// Sign seals inbound mail that is forwarded off this host (RFC 8617
// 5.1), with the chain status its verification found; mail whose chain
// already failed, or could not be validated now, goes on unsealed.
func (a *arcSealer) Sign(ctx context.Context, m *Message) ([]string, error) {
	if !m.Forwarded || !m.Inbound {
		return nil, nil
	}
	s, err := a.sealer(ctx)
	if err != nil || s == nil {
		return nil, err // no key (yet): not sealed
	}
	chain := &arc.Result{Status: arc.Status(m.ARC.Result)}
	if m.ARC.Result == "" { // [arc] verify is off: validate for the seal
		r, err := m.Content()
		if err != nil {
			return nil, err
		}
		if chain, err = a.v.Verify(ctx, r); err != nil {
			return nil, err
		}
	}
	r, err := m.Content()
	if err != nil {
		return nil, err
	}
	fields, err := s.Seal(r, chain, a.host, m.AuthResults)
	if errors.Is(err, arc.ErrNotSealable) {
		return nil, nil
	}
	return fields, err
}
