package mech

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/testutil"
)

// fakeExchange serves fixed credentials for one user and records the
// outcome.
type fakeExchange struct {
	user, stored string
	keys         password.SCRAMKeys
	looked       string
	result       string // "succeeded" or the reason of Fail
}

func (e *fakeExchange) Lookup(_ context.Context, u string) (string, error) {
	e.looked = u
	if u != e.user {
		return "", nil
	}
	return e.stored, nil
}
func (e *fakeExchange) SCRAMKeys(context.Context) (password.SCRAMKeys, error) { return e.keys, nil }
func (e *fakeExchange) Succeed(context.Context) (directory.Mailbox, error) {
	e.result = "succeeded"
	return directory.Mailbox{Username: e.user}, nil
}
func (e *fakeExchange) Fail(_ context.Context, reason string) error {
	e.result = reason
	return login.ErrFailed
}

// TestSCRAMRFC7677 replays the example exchange of RFC 7677 3.
func TestSCRAMRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	keys, err := password.DeriveSCRAMKeys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	ex := &fakeExchange{user: "user", keys: keys}
	s := newSCRAM(Options{}, ex, func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" })
	steps := []struct{ client, server string }{
		{"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
		{"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	}
	for _, st := range steps {
		ch, done, err := s.Next([]byte(st.client))
		if err != nil || done || string(ch) != st.server {
			t.Fatalf("Next(%q) = %q, %v, %v; want %q", st.client, ch, done, err, st.server)
		}
	}
	if _, done, err := s.Next([]byte{}); !done || err != nil {
		t.Fatalf("final step: %v, %v", done, err)
	}
	if ex.result != "succeeded" || s.User() != "user" || s.Mailbox().Username != "user" {
		t.Fatalf("result %q, user %q", ex.result, s.User())
	}
	if _, _, err := s.Next(nil); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("step after done: %v", err)
	}
}

func TestSCRAMClient(t *testing.T) {
	for _, tc := range []struct {
		name, user, pw string
		want           error  // nil, login.ErrFailed
		mailbox        string // on success
		log            string
	}{
		{"keys stored", "alice@example.org", testutil.Secret, nil, "alice@example.org",
			"auth: login: user=<alice@example.org>, rip=192.0.2.1, method=SCRAM-SHA-256, service=imap"},
		{"user in another case", "Alice@EXAMPLE.org", testutil.Secret, nil, "alice@example.org", "auth: login: user=<Alice@EXAMPLE.org>"},
		{"Dovecot {SCRAM-SHA-256} hash", "dove@example.org", testutil.Secret, nil, "dove@example.org", "auth: login: user=<dove@example.org>"},
		{"wrong password", "alice@example.org", "Secret", login.ErrFailed, "",
			"auth: failed: user=<alice@example.org>, rip=192.0.2.1, method=SCRAM-SHA-256, service=imap, reason=password mismatch"},
		{"unknown user", "bob@example.org", testutil.Secret, login.ErrFailed, "", "reason=unknown user"},
		{"not an address", "bob", testutil.Secret, login.ErrFailed, "", "user=<bob>, rip=192.0.2.1, method=SCRAM-SHA-256, service=imap, reason=unknown user"},
		{"inactive mailbox", "off@example.org", testutil.Secret, login.ErrFailed, "", "reason=mailbox disabled"},
		{"no keys stored", "nokeys@example.org", testutil.Secret, login.ErrFailed, "", "reason=no SCRAM-SHA-256 keys for the current password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			s := f.new(t, "scram-sha-256", ip1)
			_, err := scramRun(t, s, tc.user, tc.pw)
			if tc.want == nil {
				if err != nil || s.Mailbox().Username != tc.mailbox {
					t.Fatalf("err %v, mailbox %+v", err, s.Mailbox())
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			f.waitLog(t, tc.log)
			if s.User() != tc.user {
				t.Errorf("User() = %q", s.User())
			}
		})
	}
}

// TestSCRAMUnknownIndistinguishable: an unknown user, and a known one
// without keys, get a salt and iteration count that stay the same from
// one attempt to the next, shaped like a real user's.
func TestSCRAMUnknownIndistinguishable(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Auth.MaxFailures = 1000 })
	first := func(user string) string {
		s := f.new(t, SCRAMSHA256, ip1)
		sf, err := scramRun(t, s, user, "wrong")
		if !errors.Is(err, login.ErrFailed) {
			t.Fatalf("%s: %v", user, err)
		}
		return saltIter(sf)
	}
	real := first("alice@example.org")
	for _, user := range []string{"bob@example.org", "nokeys@example.org", "x"} {
		a, b := first(user), first(user)
		if a != b {
			t.Errorf("%s: salt/iterations changed between attempts: %q, %q", user, a, b)
		}
		if a == real || len(a) != len(real) || !strings.HasSuffix(a, ",i=4096") {
			t.Errorf("%s: %q does not look like a real user's %q", user, a, real)
		}
	}
	if first("bob@example.org") == first("carol@example.org") {
		t.Error("two unknown users share a salt")
	}
	if first("Bob@Example.ORG") != first("bob@example.org") {
		t.Error("the made-up salt depends on the case of the address")
	}
	// Another Authenticator on the same database (another node, or after
	// a restart) makes up the same.
	other := login.New(f.dir, f.cfg.Load, nil)
	o := f.opts(ip2)
	o.Auth = other
	s, _ := New(SCRAMSHA256, o)
	sf, _ := scramRun(t, s, "bob@example.org", "wrong")
	if saltIter(sf) != first("bob@example.org") {
		t.Error("made-up salt differs between Authenticators sharing the database")
	}
}

func TestSCRAMLockout(t *testing.T) {
	f := newFixture(t, nil) // max_failures = 3
	for i := range 3 {
		if _, err := scramRun(t, f.new(t, SCRAMSHA256, ip1), "alice@example.org", "wrong"); !errors.Is(err, login.ErrFailed) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	f.waitLog(t, "warning: auth: too many failures: rip=192.0.2.1")
	s := f.new(t, SCRAMSHA256, ip1)
	_, err := scramRun(t, s, "alice@example.org", testutil.Secret)
	if !errors.Is(err, login.ErrTemporary) || errors.Is(err, login.ErrFailed) {
		t.Fatalf("locked out client: %v", err)
	}
	// Refused at the first message, before any salt goes out.
	s = f.new(t, SCRAMSHA256, ip1)
	if ch, _, err := s.Next([]byte("n,,n=alice@example.org,r=abc")); !errors.Is(err, login.ErrTemporary) || len(ch) != 0 {
		t.Fatalf("first step when locked: %q, %v", ch, err)
	}
	if _, err := scramRun(t, f.new(t, SCRAMSHA256, ip2), "alice@example.org", testutil.Secret); err != nil {
		t.Fatalf("other client: %v", err)
	}
	// PLAIN counts against the same limit, and SCRAM failures against PLAIN.
	if _, _, err := f.new(t, Plain, ip1).Next([]byte("\x00alice@example.org\x00" + testutil.Secret)); !errors.Is(err, login.ErrTemporary) {
		t.Fatalf("PLAIN while locked: %v", err)
	}
}

func TestSCRAMRefusals(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		name, msg string
		want      error
	}{
		{"requires channel binding", "p=tls-exporter,,n=alice@example.org,r=abc", ErrChannelBinding},
		{"other authzid", "n,a=nokeys@example.org,n=alice@example.org,r=abc", ErrMalformed},
		{"bad name encoding", "n,,n=a=2Xb,r=abc", ErrMalformed},
		{"extension", "n,,m=x,n=alice@example.org,r=abc", ErrMalformed},
		{"garbage", "hello", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"too long", "n,,n=alice@example.org,r=" + strings.Repeat("x", 5000), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.new(t, SCRAMSHA256, ip1)
			if _, _, err := s.Next([]byte(tc.msg)); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if _, _, err := s.Next([]byte("c=biws,r=abc,p=AAAA")); !errors.Is(err, ErrUnexpected) {
				t.Fatalf("step after a refusal: %v", err)
			}
		})
	}
	// A client that could bind but saw no -PLUS offered ("y") is fine,
	// as is one sending its first message after an empty challenge.
	s := f.new(t, SCRAMSHA256, ip1)
	if ch, done, err := s.Next(nil); len(ch) != 0 || done || err != nil {
		t.Fatalf("no initial response: %q, %v, %v", ch, done, err)
	}
	if ch, _, err := s.Next([]byte("y,,n=alice@example.org,r=abc")); err != nil || !strings.HasPrefix(string(ch), "r=abc") {
		t.Fatalf("y flag: %q, %v", ch, err)
	}
	// A tampered nonce in the final message is a failed login.
	if _, _, err := s.Next([]byte("c=eSws,r=abcX,p=AAAA")); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("tampered final message: %v", err)
	}
	f.waitLog(t, "reason=bad SCRAM client-final-message: other-error")
	// So is a channel binding flag that changed between the messages.
	s = f.new(t, SCRAMSHA256, ip2)
	ch, _, _ := s.Next([]byte("n,,n=alice@example.org,r=abc"))
	nonce, _, _ := strings.Cut(strings.TrimPrefix(string(ch), "r="), ",")
	if _, _, err := s.Next([]byte("c=eSws,r=" + nonce + ",p=AAAA")); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("changed gs2 header: %v", err)
	}
	f.waitLog(t, "reason=bad SCRAM client-final-message: channel-bindings-dont-match")
}

// TestPasswordLoginStoresSCRAMKeys: a PLAIN login stores the keys that
// SCRAM-SHA-256 then uses, again when scram_iterations changes, never when
// SCRAM-SHA-256 is not offered.
func TestPasswordLoginStoresSCRAMKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(c *config.Config) {
		c.Auth.Mechanisms = []string{"PLAIN"}
		c.Auth.MaxFailures = 1000
	})
	plainLogin := func(user string) {
		t.Helper()
		if _, err := f.auth.Check(ctx, "imap", "PLAIN", user, testutil.Secret, ip2); err != nil {
			t.Fatal(err)
		}
	}
	plainLogin("nokeys@example.org")
	if _, err := f.dir.SCRAMKeys(ctx, "nokeys@example.org"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("keys stored although SCRAM-SHA-256 is not offered: %v", err)
	}
	if _, err := New(SCRAMSHA256, f.opts(ip1)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("SCRAM-SHA-256 not configured: %v", err)
	}

	cfg := *f.cfg.Load()
	cfg.Auth.Mechanisms = []string{"SCRAM-SHA-256", "PLAIN"}
	f.cfg.Store(&cfg)
	for _, user := range []string{"nokeys@example.org", "plain@example.org", "dove@example.org"} {
		plainLogin(user)
		if _, err := scramRun(t, f.new(t, SCRAMSHA256, ip1), user, testutil.Secret); err != nil {
			t.Fatalf("%s: SCRAM after a PLAIN login: %v", user, err)
		}
		if _, err := scramRun(t, f.new(t, SCRAMSHA256, ip2), user, "wrong"); !errors.Is(err, login.ErrFailed) {
			t.Fatalf("%s: wrong password: %v", user, err)
		}
	}
	f.waitLog(t, "auth: SCRAM-SHA-256 keys stored: user=<nokeys@example.org>, rip=192.0.2.2, method=PLAIN, service=imap, iterations=4096")
	// dove's {SCRAM-SHA-256} was rehashed to argon2id; keys now in the table.
	if mb, _ := f.dir.Mailbox(ctx, "dove@example.org"); password.Scheme(mb.PasswordHash) != "ARGON2ID" {
		t.Fatalf("dove's hash is %s", password.Scheme(mb.PasswordHash))
	}

	cfg2 := cfg
	cfg2.Auth.SCRAMIterations = 5000
	f.cfg.Store(&cfg2)
	plainLogin("alice@example.org")
	if k, err := f.dir.SCRAMKeys(ctx, "alice@example.org"); err != nil || k.Iterations != 5000 {
		t.Fatalf("after scram_iterations changed: %+v, %v", k, err)
	}
	sf, err := scramRun(t, f.new(t, SCRAMSHA256, ip1), "alice@example.org", testutil.Secret)
	if err != nil || !strings.HasSuffix(sf, ",i=5000") {
		t.Fatalf("SCRAM with new keys: %q, %v", sf, err)
	}
}
