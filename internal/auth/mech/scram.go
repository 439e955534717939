package mech

import (
	"fmt"
	"strings"

	"github.com/xdg-go/scram"

	"mailwarden/internal/auth/login"
)

// scramServer is SCRAM-SHA-256 (RFC 5802, RFC 7677) on xdg-go/scram's
// server conversation, with credentials from a login.Exchange:
//
//	client-first  -> server-first (nonce, salt, iterations)
//	client-final  -> server-final "v=..." once the proof verified
//	(empty)       -> done
//
// The server-final message goes out as a challenge because neither SMTP
// AUTH nor IMAP AUTHENTICATE can carry data with their success reply.
// Channel binding is not offered: a client that requires it ("p=") is
// refused with ErrChannelBinding; "y" (client could, server did not offer
// it) and "n" are fine.
type scramServer struct {
	o  Options
	ex exchange
	outcome
	conv      *scram.ServerConversation
	step      int
	asked     bool
	lookupErr error
}

func newSCRAM(o Options, ex exchange, nonce scram.NonceGeneratorFcn) *scramServer {
	s := &scramServer{o: o, ex: ex}
	srv, _ := scram.SHA256.NewServer(s.credentials) // never fails
	if nonce != nil {
		srv = srv.WithNonceGenerator(nonce)
	}
	s.conv = srv.NewConversation()
	return s
}

// credentials is the conversation's lookup: the exchange's keys, real or
// made up alike for users that cannot log in this way.
func (s *scramServer) credentials(user string) (scram.StoredCredentials, error) {
	s.user = user
	ctx, cancel := s.o.op()
	defer cancel()
	if _, err := s.ex.Lookup(ctx, user); err != nil {
		s.lookupErr = err
		return scram.StoredCredentials{}, err
	}
	k, err := s.ex.SCRAMKeys(ctx)
	if err != nil {
		s.lookupErr = err
		return scram.StoredCredentials{}, err
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(k.Salt), Iters: k.Iterations},
		StoredKey:  k.StoredKey,
		ServerKey:  k.ServerKey,
	}, nil
}

func (s *scramServer) Next(resp []byte) ([]byte, bool, error) {
	if len(resp) > maxResponse {
		s.step = 3
		return nil, false, malformed("response too long")
	}
	switch s.step {
	case 0:
		if resp == nil && !s.asked { // no initial response
			s.asked = true
			return []byte{}, false, nil
		}
		s.step = 1
		return s.dead(s.first(string(resp)))
	case 1:
		s.step = 2
		return s.dead(s.final(string(resp)))
	case 2:
		// The client's answer to server-final, empty by RFC 5802; a
		// client that found the server signature wrong aborts instead.
		s.step = 3
		return nil, true, nil
	}
	return nil, false, ErrUnexpected
}

// dead ends the exchange after an error: further steps are unexpected.
func (s *scramServer) dead(ch []byte, done bool, err error) ([]byte, bool, error) {
	if err != nil {
		s.step = 3
	}
	return ch, done, err
}

// first answers client-first-message with server-first-message.
func (s *scramServer) first(msg string) ([]byte, bool, error) {
	out, err := s.conv.Step(msg)
	switch {
	case s.lookupErr != nil:
		return nil, false, s.lookupErr
	case out == scram.ErrChannelBindingNotSupported:
		return nil, false, ErrChannelBinding
	case err != nil:
		return nil, false, malformed("SCRAM client-first-message: " + scramError(out, err))
	}
	if z := s.conv.AuthzID(); z != "" && !strings.EqualFold(z, s.conv.Username()) {
		return nil, false, fmt.Errorf("%w: %w", ErrMalformed, login.ErrAuthzid)
	}
	return []byte(out), false, nil
}

// final checks the proof in client-final-message and answers with
// server-final-message; a wrong proof is a failed login.
func (s *scramServer) final(msg string) ([]byte, bool, error) {
	out, err := s.conv.Step(msg)
	ctx, cancel := s.o.op()
	defer cancel()
	if err != nil {
		reason := "password mismatch"
		if out != scram.ErrInvalidProof {
			reason = "bad SCRAM client-final-message: " + scramError(out, nil)
		}
		return nil, false, s.ex.Fail(ctx, reason)
	}
	mb, err := s.ex.Succeed(ctx)
	if err != nil {
		return nil, false, err
	}
	s.mb = mb
	return []byte(out), false, nil
}

// scramError names a conversation error for logs without echoing client
// data: the RFC 5802 server-error value when there is one.
func scramError(out string, err error) string {
	if v, ok := strings.CutPrefix(out, "e="); ok {
		return v
	}
	if err != nil && strings.Contains(err.Error(), "extensions") {
		return "extensions-not-supported"
	}
	return "invalid-encoding"
}
