package msgauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"sync"
	"time"

	"mailwarden/internal/mime"
	"mailwarden/internal/msgauth/dkim"
	"mailwarden/internal/table"
)

// DKIM: verify inbound signatures, sign mail from trusted senders with
// the keys of package dkim ([dkim] in the config).
func init() {
	RegisterVerifier(OrderDKIM, "dkim", newDKIMVerifier)
	RegisterSigner(OrderSignDKIM, "dkim", newDKIMSigner)
}

// dkimCache keeps key records across config reloads: public DNS data.
var dkimCache = dkim.NewTXTCache(0, nil)

type dkimVerifier struct{ v *dkim.Verifier }

func newDKIMVerifier(d Deps) (Verifier, error) {
	if d.Config == nil || !d.Config.DKIM.Verify {
		return nil, nil
	}
	return dkimVerifier{dkim.NewVerifier(d.DNS, dkimCache, dkim.VerifyConfig{
		MaxSignatures: d.Config.DKIM.MaxSignatures,
		LookupTimeout: d.Config.DNS.Timeout.D(),
	})}, nil
}

func (v dkimVerifier) Verify(ctx context.Context, m *Message) error {
	r, err := m.Content()
	if err != nil {
		return err
	}
	rs, err := v.v.Verify(ctx, r)
	if err != nil {
		return err
	}
	m.Env.Auth = append(m.Env.Auth, rs...)
	return nil
}

type dkimSigner struct {
	store  *dkim.Store
	finder *dkim.Finder
	conf   dkim.SignConfig
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	lastSweep time.Time
}

func newDKIMSigner(d Deps) (Signer, error) {
	if d.Config == nil || !d.Config.DKIM.Sign || d.DB == nil {
		return nil, nil
	}
	c := d.Config.DKIM
	store := dkim.NewStore(d.DB, d.Now)
	logf := func(format string, args ...any) {
		if d.Log != nil {
			d.Log.Warn("dkim: " + fmt.Sprintf(format, args...))
		}
	}
	finder, err := dkim.NewFinder(store, c.SigningTable, c.KeyTable, c.MultipleSignatures, table.Options{Logf: logf})
	if err != nil {
		return nil, err
	}
	s := &dkimSigner{store: store, finder: finder, now: d.Now, log: d.Log, conf: dkim.SignConfig{
		Canonicalization: c.Canonicalization,
		Headers:          c.SignHeaders,
		Oversign:         c.OversignHeaders,
		TTL:              c.SignatureTTL.D(),
	}}
	if len(s.conf.Headers) == 0 {
		s.conf.Headers = nil // the built-in list
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Sign signs mail from trusted senders for the From domain (RFC 6376
// 3.5 d=; DMARC alignment wants the From domain).
func (s *dkimSigner) Sign(ctx context.Context, m *Message) ([]string, error) {
	if !m.Trusted {
		return nil, nil
	}
	s.sweep(ctx)
	domain, err := m.FromDomain()
	if err != nil {
		return nil, nil // no single From address: nothing to sign for
	}
	h, err := m.Header()
	if err != nil {
		return nil, err
	}
	keys, err := s.finder.Keys(ctx, fromAddress(h), domain)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	r, err := m.Content()
	if err != nil {
		return nil, err
	}
	return dkim.Sign(r, keys, s.conf)
}

// fromAddress is the one From address (FromDomain checked there is one).
func fromAddress(h *mime.Header) string {
	v, _ := h.Get("From")
	a, err := (&mail.AddressParser{}).Parse(mime.Unfold([]byte(v)))
	if err != nil {
		return ""
	}
	return a.Address
}

// sweep deletes keys past their deletion time, at most once an hour.
func (s *dkimSigner) sweep(ctx context.Context) {
	now := s.now()
	s.mu.Lock()
	due := now.Sub(s.lastSweep) >= time.Hour
	if due {
		s.lastSweep = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	gone, err := s.store.Sweep(ctx)
	if err != nil {
		s.log.Warn(err.Error())
	}
	for _, k := range gone {
		s.log.Info(fmt.Sprintf("dkim: key %s of %s deleted at the end of its rotation: remove its record %s", k.Selector, k.Domain, k.RecordName()))
	}
}
