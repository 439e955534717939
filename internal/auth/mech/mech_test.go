package mech

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/testutil"
)

var (
	_ sasl.Server = (*plainServer)(nil)
	_ sasl.Server = (*loginServer)(nil)
	_ sasl.Server = (*scramServer)(nil)
	_ sasl.Server = (*cramServer)(nil)
	_ exchange    = (*login.Exchange)(nil)
)

func TestOffered(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ in, want []string }{
		{config.Default().Auth.Mechanisms, []string{"PLAIN", "LOGIN", "SCRAM-SHA-256"}},
		{[]string{"CRAM-MD5", "scram-sha-256", "PLAIN", "plain"}, []string{"CRAM-MD5", "SCRAM-SHA-256", "PLAIN"}},
		{[]string{"GSSAPI", "LOGIN"}, []string{"LOGIN"}},
		{nil, nil},
	} {
		cfg := config.Default()
		cfg.Auth.Mechanisms = tc.in
		if got := Offered(cfg); !slices.Equal(got, tc.want) {
			t.Errorf("Offered(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, m := range []string{Plain, Login, SCRAMSHA256, CRAMMD5, "GSSAPI"} {
			_, err := New(strings.ToLower(m), Options{Config: cfg, Auth: f.auth})
			if (err == nil) != slices.Contains(tc.want, m) {
				t.Errorf("mechanisms %q: New(%s) = %v", tc.in, m, err)
			}
		}
	}
	if _, err := New(Plain, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("New without a config: %v", err)
	}
}

func TestPlainAndLogin(t *testing.T) {
	f := newFixture(t, nil)
	run := func(mech string, steps ...string) (Server, []string, error) {
		s := f.new(t, mech, ip1)
		var chs []string
		var resp []byte // nil first: no initial response
		for i := 0; ; i++ {
			ch, done, err := s.Next(resp)
			if err != nil || done {
				return s, chs, err
			}
			chs = append(chs, string(ch))
			if i >= len(steps) {
				t.Fatalf("%s: more challenges than expected: %q", mech, chs)
			}
			resp = []byte(steps[i])
		}
	}
	s, chs, err := run(Plain, "\x00alice@example.org\x00"+testutil.Secret)
	if err != nil || s.Mailbox().Username != "alice@example.org" || !slices.Equal(chs, []string{""}) {
		t.Fatalf("PLAIN: %v %q %+v", err, chs, s.Mailbox())
	}
	s, chs, err = run(Login, "Alice@example.org", testutil.Secret)
	if err != nil || s.Mailbox().Username != "alice@example.org" || !slices.Equal(chs, []string{"Username:", "Password:"}) {
		t.Fatalf("LOGIN: %v %q", err, chs)
	}
	f.waitLog(t, "auth: login: user=<Alice@example.org>, rip=192.0.2.1, method=LOGIN, service=imap")
	if _, _, err = run(Plain, "\x00alice@example.org\x00wrong"); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("PLAIN wrong password: %v", err)
	}
	if _, _, err = run(Plain, "nokeys@example.org\x00alice@example.org\x00"+testutil.Secret); !errors.Is(err, ErrMalformed) || !errors.Is(err, login.ErrAuthzid) {
		t.Fatalf("PLAIN proxy authorization: %v", err)
	}
	if _, _, err = run(Login, "alice@example.org", "wrong"); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("LOGIN wrong password: %v", err)
	}
	// LOGIN with the user name as initial response.
	s = f.new(t, Login, ip1)
	if ch, _, _ := s.Next([]byte("alice@example.org")); string(ch) != "Password:" {
		t.Fatalf("LOGIN initial response: %q", ch)
	}
	if _, done, err := s.Next([]byte(testutil.Secret)); !done || err != nil {
		t.Fatalf("LOGIN: %v %v", done, err)
	}
}

func TestCRAMMD5(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Auth.MaxFailures = 1000 })
	answer := func(s Server, user, pw string) error {
		ch, done, err := s.Next(nil)
		if err != nil || done {
			t.Fatalf("challenge: %v %v", done, err)
		}
		if !regexp.MustCompile(`^<[0-9]+\.[0-9]+@mx\.example>$`).Match(ch) {
			t.Fatalf("challenge %q", ch)
		}
		m := hmac.New(md5.New, []byte(pw))
		m.Write(ch)
		_, done, err = s.Next([]byte(user + " " + hex.EncodeToString(m.Sum(nil))))
		if err == nil && !done {
			t.Fatal("not done")
		}
		return err
	}
	users := []string{"plain@example.org"}
	if _, err := f.dir.Mailbox(context.Background(), "cram@example.org"); err == nil {
		users = append(users, "cram@example.org")
	} else {
		needTool(t, "doveadm") // skips, or fails under CI=true, at the end
		defer t.Skip("doveadm not installed: {CRAM-MD5} hashes not tested")
	}
	for _, user := range users {
		s := f.new(t, CRAMMD5, ip1)
		if err := answer(s, user, testutil.Secret); err != nil || s.Mailbox().Username != user {
			t.Fatalf("%s: %v", user, err)
		}
		f.waitLog(t, "auth: login: user=<"+user+">, rip=192.0.2.1, method=CRAM-MD5, service=imap")
		if err := answer(f.new(t, CRAMMD5, ip1), user, "wrong"); !errors.Is(err, login.ErrFailed) {
			t.Fatalf("%s wrong password: %v", user, err)
		}
		f.waitLog(t, "auth: failed: user=<"+user+">, rip=192.0.2.1, method=CRAM-MD5, service=imap, reason=password mismatch")
	}
	// argon2id cannot answer: a failure like a wrong password, logged at info.
	if err := answer(f.new(t, CRAMMD5, ip1), "alice@example.org", testutil.Secret); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("argon2id user: %v", err)
	}
	f.waitLog(t, "mailwarden["+strconv.Itoa(os.Getpid())+"]: auth: failed: user=<alice@example.org>, rip=192.0.2.1, method=CRAM-MD5, service=imap, reason=stored password scheme ARGON2ID cannot do CRAM-MD5")
	if err := answer(f.new(t, CRAMMD5, ip1), "nobody@example.org", testutil.Secret); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("unknown user: %v", err)
	}
	f.waitLog(t, "user=<nobody@example.org>, rip=192.0.2.1, method=CRAM-MD5, service=imap, reason=unknown user")
	if err := answer(f.new(t, CRAMMD5, ip1), "off@example.org", testutil.Secret); !errors.Is(err, login.ErrFailed) {
		t.Fatalf("inactive: %v", err)
	}
	// A {PLAIN} hash stays: CRAM-MD5 is configured and needs it.
	if _, err := f.auth.Check(context.Background(), "imap", "PLAIN", "plain@example.org", testutil.Secret, ip1); err != nil {
		t.Fatal(err)
	}
	if mb, _ := f.dir.Mailbox(context.Background(), "plain@example.org"); password.Scheme(mb.PasswordHash) != "PLAIN" {
		t.Fatalf("{PLAIN} hash replaced by %s although CRAM-MD5 is on", password.Scheme(mb.PasswordHash))
	}

	for _, tc := range []struct{ name, resp string }{
		{"no digest", "plain@example.org"},
		{"short digest", "plain@example.org 0123"},
		{"not hex", "plain@example.org " + strings.Repeat("z", 32)},
		{"no user", " " + strings.Repeat("0", 32)},
	} {
		s := f.new(t, CRAMMD5, ip1)
		s.Next(nil)
		if _, _, err := s.Next([]byte(tc.resp)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if _, _, err := s.Next([]byte(tc.resp)); !errors.Is(err, ErrUnexpected) {
			t.Errorf("%s: step after: %v", tc.name, err)
		}
	}
	if _, _, err := f.new(t, CRAMMD5, ip1).Next([]byte("plain@example.org")); !errors.Is(err, ErrMalformed) {
		t.Errorf("initial response accepted: %v", err)
	}
}
