package mech

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"testing"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/directory"
)

// fakeChecker accepts alice@example.org / secret.
type fakeChecker struct{}

func (fakeChecker) Check(_ context.Context, _, _, user, pw string, _ netip.Addr) (directory.Mailbox, error) {
	if user == "alice@example.org" && pw == "secret" {
		return directory.Mailbox{Username: user}, nil
	}
	return directory.Mailbox{}, login.ErrFailed
}

// FuzzServers feeds each mechanism a client side of arbitrary messages
// (the input split at '\n'; a leading "-" means no initial response)
// against fixed credentials. No input may panic, succeed with a proof the
// fuzzer cannot know, or go on after an error.
func FuzzServers(f *testing.F) {
	keys, err := password.NewSCRAMKeys("secret", 4096)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"\x00alice@example.org\x00secret",
		"-\nalice@example.org\x00alice@example.org\x00secret",
		"alice@example.org\nsecret",
		"-\nalice@example.org\nsecret\nmore",
		"n,,n=alice@example.org,r=abc\nc=biws,r=abc,p=AAAA\n",
		"y,a=x,n=a=2Cb=3D,r=abc\nc=eSxhPXgs,r=abcdef,x=1,p=AAAA",
		"p=tls-unique,,n=alice@example.org,r=abc",
		"n,,m=ext,n=u,r=1",
		"-\nalice@example.org 0123456789abcdef0123456789abcdef",
		"-\n a b c " + "00000000000000000000000000000000",
		"\n\n\n",
	} {
		for m := range byte(4) {
			f.Add(m, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which byte, in []byte) {
		ex := &fakeExchange{user: "alice@example.org", stored: "{PLAIN}secret", keys: keys}
		var s Server
		switch which % 4 {
		case 0:
			s = &plainServer{auth: fakeChecker{}}
		case 1:
			s = &loginServer{auth: fakeChecker{}}
		case 2:
			s = newSCRAM(Options{}, ex, nil)
		case 3:
			s = &cramServer{ex: ex}
		}
		steps := bytes.Split(in, []byte("\n"))
		if len(steps[0]) > 0 && steps[0][0] == '-' {
			steps[0] = nil
		}
		for i, st := range steps {
			_, done, err := s.Next(st)
			if err != nil {
				if _, _, again := s.Next(nil); !errors.Is(again, ErrUnexpected) {
					t.Fatalf("step %d: Next after error %v gave %v", i, err, again)
				}
				return
			}
			if done {
				// Only PLAIN and LOGIN can be talked into success, by the
				// password itself; the challenge-response mechanisms need
				// a proof over a random nonce or challenge.
				if which%4 >= 2 && ex.result == "succeeded" {
					t.Fatalf("%T succeeded on %q", s, in)
				}
				if s.Mailbox().Username == "" {
					t.Fatalf("done without a mailbox")
				}
				return
			}
		}
	})
}
