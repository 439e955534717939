package login

import (
	"context"
	"errors"
	"net/netip"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
)

// Exchange is one login by a challenge-response mechanism (SCRAM-SHA-256,
// CRAM-MD5), which verifies the client's proof itself against credentials
// it asks for. Exchange does the rest of what Check does: the per-IP
// lockout (the attempt counts as a failure from Lookup until Succeed), the
// failure count and delay, inactive mailboxes, made-up
// credentials for unknown users, and the log lines. A mechanism calls
// Lookup once it has the user name, then Succeed or Fail exactly once.
// It is not safe for concurrent use.
type Exchange struct {
	a        *Authenticator
	cfg      *config.Config
	service  string
	mech     string
	ip       netip.Addr
	user     string
	mb       directory.Mailbox
	known    bool
	problem  string // why a known user cannot log in with this mechanism
	attempt  uint64 // reserved by Lookup; see Authenticator.begin
	finished bool
}

// Begin starts an exchange of mechanism mech for service with the client
// at ip. The config is read now and used to the end of the exchange.
func (a *Authenticator) Begin(service, mech string, ip netip.Addr) *Exchange {
	return &Exchange{a: a, cfg: a.cfg(), service: service, mech: mech, ip: ip}
}

func (e *Exchange) who() string {
	return "user=<" + LogSafe(e.user) + ">, rip=" + IPString(e.ip) + ", method=" + LogSafe(e.mech) + ", service=" + LogSafe(e.service)
}

// Lookup finds the mailbox the client named and returns its stored
// password hash, "" when there is no such mailbox (which the client must
// not be able to tell: carry on with made-up data and call Fail). An error
// for which errors.Is(err, ErrTemporary) holds means the client's IP is
// locked out or the directory failed; the exchange is over then.
func (e *Exchange) Lookup(ctx context.Context, username string) (string, error) {
	e.user = username
	if e.attempt == 0 {
		id, ok, err := e.a.beginCtx(ctx, e.cfg, clientKey(e.ip))
		if err != nil {
			e.finished = true
			e.a.log.Warn("auth: failed: " + e.who() + ", reason=" + err.Error())
			return "", err
		}
		if !ok {
			e.finished = true
			e.a.log.Debug("auth: failed: " + e.who() + ", reason=client locked out, too many recent failures")
			return "", ErrTemporary
		}
		e.attempt = id
	}
	id := e.attempt
	mb, err := e.a.dir.Mailbox(ctx, username)
	if err != nil && !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrBadAddress) {
		e.finished = true
		e.a.releaseAttempt(clientKey(e.ip), id)
		e.a.log.Warn("auth: failed: " + e.who() + ", reason=directory lookup failed: " + err.Error())
		return "", &tempError{err}
	}
	e.mb, e.known = mb, err == nil
	return mb.PasswordHash, nil
}

// SCRAMKeys returns the SCRAM-SHA-256 credentials of the user Lookup
// found: those in its stored hash when that is "{SCRAM-SHA-256}...", else
// the keys stored for its current password. A user without either, and
// an unknown one, gets made-up credentials that look alike (salt and
// iteration count stable per user name) and that no proof matches.
func (e *Exchange) SCRAMKeys(ctx context.Context) (password.SCRAMKeys, error) {
	k, isSCRAM, err := password.SCRAMSHA256Keys(e.mb.PasswordHash)
	if isSCRAM {
		return k, nil
	}
	if err != nil && e.known {
		e.problem = "stored password hash unusable: " + err.Error()
		e.a.log.Warn("auth: " + e.who() + ": " + e.problem)
	}
	if e.a.keys != nil {
		// Asked for unknown users too, so they cost the same.
		name := e.user
		if e.known {
			name = e.mb.Username
		}
		k, err := e.a.keys.SCRAMKeys(ctx, name)
		switch {
		case err == nil && e.known:
			return k, nil
		case err != nil && !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrBadAddress):
			e.finished = true
			e.a.releaseAttempt(clientKey(e.ip), e.attempt)
			e.a.log.Warn("auth: failed: " + e.who() + ", reason=SCRAM key lookup failed: " + err.Error())
			return password.SCRAMKeys{}, &tempError{err}
		}
	}
	if e.known && e.problem == "" {
		e.problem = "no SCRAM-SHA-256 keys for the current password (a password login or `mailwarden user passwd` stores them)"
	}
	k, err = e.a.fakeSCRAM(ctx, e.user, e.cfg.Auth.SCRAMIterations)
	if err != nil {
		e.finished = true
		e.a.releaseAttempt(clientKey(e.ip), e.attempt)
		e.a.log.Warn("auth: failed: " + e.who() + ", reason=secret unavailable: " + err.Error())
		return password.SCRAMKeys{}, &tempError{err}
	}
	return k, nil
}

// Succeed is called when the mechanism verified the client's proof. It
// returns the mailbox, or ErrFailed (after the failure delay) when the
// mailbox is disabled.
func (e *Exchange) Succeed(ctx context.Context) (directory.Mailbox, error) {
	if e.finished {
		return directory.Mailbox{}, ErrFailed
	}
	e.finished = true
	var reason string
	switch {
	case !e.known:
		reason = "unknown user"
	case e.problem != "":
		reason = e.problem
	case !e.mb.Active:
		reason = "mailbox disabled"
	}
	if reason != "" {
		return directory.Mailbox{}, e.a.failed(ctx, e.cfg, clientKey(e.ip), e.attempt, e.ip, e.user, e.who(), reason)
	}
	e.a.releaseAttempt(clientKey(e.ip), e.attempt)
	e.a.log.Info("auth: login: " + e.who())
	return e.mb, nil
}

// Fail is called when the client's proof did not verify; reason says how
// (for the log; an unknown user or a user without usable credentials is
// logged as such instead). It counts the failure, waits the failure delay
// and returns ErrFailed.
func (e *Exchange) Fail(ctx context.Context, reason string) error {
	if e.finished {
		return ErrFailed
	}
	e.finished = true
	switch {
	case e.user != "" && !e.known:
		reason = "unknown user"
	case e.problem != "":
		reason = e.problem
	}
	return e.a.failed(ctx, e.cfg, clientKey(e.ip), e.attempt, e.ip, e.user, e.who(), reason)
}
