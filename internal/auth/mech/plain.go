package mech

import (
	"fmt"

	"mailwarden/internal/auth/login"
)

// plainServer is PLAIN (RFC 4616) through login.DecodePlain, which also
// refuses proxy authorization, and login.Authenticator.Check.
type plainServer struct {
	o    Options
	auth checker
	outcome
	asked, done bool
}

func (p *plainServer) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case p.done:
		return nil, false, ErrUnexpected
	case resp == nil && !p.asked: // no initial response: an empty challenge asks for it
		p.asked = true
		return []byte{}, false, nil
	}
	p.done = true
	if len(resp) > maxResponse {
		return nil, false, malformed("response too long")
	}
	_, user, pw, err := login.DecodePlain(resp)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p.user = user
	return p.check(&p.o, p.auth, Plain, pw)
}

// check verifies the password of r.user through the Authenticator.
func (r *outcome) check(o *Options, auth checker, mech, pw string) ([]byte, bool, error) {
	ctx, cancel := o.op()
	defer cancel()
	mb, err := auth.Check(ctx, o.Service, mech, r.user, pw, o.IP)
	if err != nil {
		return nil, false, err
	}
	r.mb = mb
	return nil, true, nil
}

// loginServer is the obsolete but ubiquitous LOGIN mechanism
// (draft-murchison-sasl-login): "Username:" and "Password:" prompts; an
// initial response is the user name.
type loginServer struct {
	o    Options
	auth checker
	outcome
	step int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	if len(resp) > maxResponse {
		l.step = 3
		return nil, false, malformed("response too long")
	}
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return l.check(&l.o, l.auth, Login, string(resp))
	}
	return nil, false, ErrUnexpected
}
