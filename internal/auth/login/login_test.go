package login

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/mlog"
	"mailwarden/internal/testutil"
)

func newDir(t *testing.T) *testutil.Dir {
	aliceHash := testutil.SecretHash(t)
	box := func(u, h string, active bool) directory.Mailbox {
		return directory.Mailbox{Username: u, PasswordHash: h, Maildir: "example.org/x/", Active: active}
	}
	return testutil.NewDir(
		box("alice@example.org", aliceHash, true),
		box("off@example.org", aliceHash, false),
		box("old@example.org", "{PLAIN}secret", true),
		box("empty@example.org", "{PLAIN}", true),
		box("broken@example.org", "{NOSUCH}x", true),
	)
}

type fixture struct {
	a    *Authenticator
	dir  *testutil.Dir
	logs *testutil.Buffer
	now  time.Time
	mu   sync.Mutex
}

func newFixture(t *testing.T, mod func(*config.Config)) *fixture {
	cfg := config.Default()
	cfg.Auth.FailureDelay = config.Duration(time.Millisecond)
	cfg.Auth.MaxFailures = 3
	cfg.Auth.FailureWindow = config.Duration(10 * time.Minute)
	if mod != nil {
		mod(cfg)
	}
	f := &fixture{dir: newDir(t), logs: &testutil.Buffer{}, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	log := mlog.Component(testLogger(f.logs), "auth")
	f.a = New(f.dir, func() *config.Config { return cfg }, log)
	f.a.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	}
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

var ip1 = netip.MustParseAddr("192.0.2.1")

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, user, pw string
		dirErr         error
		want           error // nil, ErrFailed or ErrTemporary
		log            string
	}{
		{"ok", "alice@example.org", "secret", nil, nil, "auth: login: user=<alice@example.org>, rip=192.0.2.1, method=PLAIN, service=imap"},
		{"case-insensitive user", "Alice@EXAMPLE.org", "secret", nil, nil, "auth: login: user=<Alice@EXAMPLE.org>"},
		{"wrong password", "alice@example.org", "Secret", nil, ErrFailed, "auth: failed: user=<alice@example.org>, rip=192.0.2.1, method=PLAIN, service=imap, reason=password mismatch"},
		{"unknown user", "bob@example.org", "secret", nil, ErrFailed, "reason=unknown user"},
		{"not an address", "alice", "secret", nil, ErrFailed, "reason=unknown user"},
		{"empty user", "", "secret", nil, ErrFailed, "user=<>"},
		{"inactive", "off@example.org", "secret", nil, ErrFailed, "reason=mailbox disabled"},
		{"empty password", "empty@example.org", "", nil, ErrFailed, "reason=empty password"},
		{"unusable hash", "broken@example.org", "x", nil, ErrFailed, "reason=stored password hash unusable"},
		{"directory down", "alice@example.org", "secret", errors.New("db gone"), ErrTemporary, "reason=directory lookup failed: db gone"},
		{"control chars logged safely", "a\r\nb<c>", "x", nil, ErrFailed, "user=<a??b?c?>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.dir.Fail(tc.dirErr)
			mb, err := f.a.Check(context.Background(), "imap", "PLAIN", tc.user, tc.pw, ip1)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.want == nil && mb.Username != "alice@example.org":
				t.Fatalf("mailbox %+v", mb)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err %v, want %v", err, tc.want)
			case tc.want == ErrTemporary && errors.Is(err, ErrFailed):
				t.Fatalf("temporary error %v is also ErrFailed", err)
			}
			if !strings.Contains(f.logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, f.logs.String())
			}
			if strings.Contains(f.logs.String(), "secret") {
				t.Errorf("log shows the password:\n%s", f.logs.String())
			}
		})
	}
}

func TestLockout(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	check := func(ip, pw string) error {
		_, err := f.a.Check(ctx, "pop3", "PLAIN", "alice@example.org", pw, netip.MustParseAddr(ip))
		return err
	}
	steps := []struct {
		name    string
		advance time.Duration
		ip, pw  string
		want    error
	}{
		{"fail 1", 0, "192.0.2.1", "x", ErrFailed},
		{"fail 2", time.Minute, "192.0.2.1", "x", ErrFailed},
		{"success does not reset", 0, "192.0.2.1", "secret", nil},
		{"fail 3 locks", time.Minute, "192.0.2.1", "x", ErrFailed},
		{"right password refused", 0, "192.0.2.1", "secret", ErrTemporary},
		{"wrong password refused", 0, "192.0.2.1", "x", ErrTemporary},
		{"mapped form refused", 0, "::ffff:192.0.2.1", "secret", ErrTemporary},
		{"other IP fine", 0, "192.0.2.2", "secret", nil},
		{"still locked", 9 * time.Minute, "192.0.2.1", "secret", ErrTemporary},
		{"window passed", 2 * time.Minute, "192.0.2.1", "secret", nil},
		{"v6 fail 1", 0, "2001:db8:1:2::1", "x", ErrFailed},
		{"v6 fail 2, same /64", 0, "2001:db8:1:2::99", "x", ErrFailed},
		{"v6 fail 3, same /64", 0, "2001:db8:1:2:ffff::1", "x", ErrFailed},
		{"v6 /64 locked", 0, "2001:db8:1:2::1234", "secret", ErrTemporary},
		{"v6 other /64 fine", 0, "2001:db8:1:3::1", "secret", nil},
	}
	for _, s := range steps {
		f.advance(s.advance)
		if err := check(s.ip, s.pw); !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.want)
		}
	}
	if n := strings.Count(f.logs.String(), "auth: too many failures: rip="); n != 2 {
		t.Errorf("lockout logged %d times, want 2 (once per lockout):\n%s", n, f.logs.String())
	}
}

func TestSlidingWindow(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for i, adv := range []time.Duration{0, time.Minute, 10 * time.Minute, time.Minute} {
		f.advance(adv)
		if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "x", ip1); !errors.Is(err, ErrFailed) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Failures 1 and 2 aged out before 3 and 4: not locked.
	if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", ip1); err != nil {
		t.Fatalf("locked although only 2 failures are within the window: %v", err)
	}
}

func TestRehash(t *testing.T) {
	for _, tc := range []struct {
		name, user string
		setErr     error
		wantSets   int
		log        string
	}{
		{"old scheme upgraded", "old@example.org", nil, 1, "auth: rehashed: user=<old@example.org>, rip=192.0.2.1, method=PLAIN, service=imap, scheme=PLAIN -> ARGON2ID"},
		{"upgrade failure only logged", "old@example.org", errors.New("read-only"), 0, "auth: rehash failed: user=<old@example.org>"},
		{"current scheme kept", "alice@example.org", nil, 0, "auth: login:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.dir.FailSetPassword(tc.setErr)
			before := f.dir.Hash(tc.user)
			if _, err := f.a.Check(context.Background(), "imap", "PLAIN", tc.user, "secret", ip1); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if f.dir.Sets() != tc.wantSets {
				t.Fatalf("SetPassword called %d times, want %d", f.dir.Sets(), tc.wantSets)
			}
			if !strings.Contains(f.logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, f.logs.String())
			}
			after := f.dir.Hash(tc.user)
			if tc.wantSets == 0 {
				if after != before {
					t.Fatalf("hash changed")
				}
				return
			}
			if ok, err := password.Verify(after, "secret"); !ok || err != nil || password.NeedsRehash(after) {
				t.Fatalf("new hash %q: ok=%v err=%v", after, ok, err)
			}
			// And it still logs in, now without rehashing.
			if _, err := f.a.Check(context.Background(), "imap", "PLAIN", tc.user, "secret", ip1); err != nil || f.dir.Sets() != 1 {
				t.Fatalf("second login: %v, sets=%d", err, f.dir.Sets())
			}
		})
	}
}

func TestFailureDelayHonoursContext(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Auth.FailureDelay = config.Duration(time.Hour) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "wrong", ip1)
		done <- err
	}()
	for !strings.Contains(f.logs.String(), "auth: failed:") {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrFailed) {
		t.Fatalf("err %v, want ErrFailed", err)
	}
}

func TestConcurrentChecks(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Auth.MaxFailures = 1000 })
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			pw := "secret"
			if i%2 == 1 {
				pw = "wrong"
			}
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 4)})
			_, err := f.a.Check(context.Background(), "imap", "PLAIN", "alice@example.org", pw, ip)
			if (err == nil) != (i%2 == 0) {
				t.Errorf("check %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// TestCRAMMD5KeepsHash: with CRAM-MD5 offered, the {PLAIN} hash it needs
// is not upgraded by a password login.
func TestCRAMMD5KeepsHash(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Auth.Mechanisms = []string{"PLAIN", "CRAM-MD5"} })
	if _, err := f.a.Check(context.Background(), "imap", "PLAIN", "old@example.org", "secret", ip1); err != nil {
		t.Fatal(err)
	}
	if f.dir.Sets() != 0 || f.dir.Hash("old@example.org") != "{PLAIN}secret" {
		t.Fatalf("hash replaced: %q", f.dir.Hash("old@example.org"))
	}
}

// TestExchangeWithoutKeyStore: a directory that cannot keep SCRAM keys
// gets made-up ones for everybody, stable within the process.
func TestExchangeWithoutKeyStore(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.Auth.MaxFailures = 100 })
	ctx := context.Background()
	salt := func(user string) string {
		e := f.a.Begin("imap", "SCRAM-SHA-256", ip1)
		if _, err := e.Lookup(ctx, user); err != nil {
			t.Fatal(err)
		}
		k, err := e.SCRAMKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Fail(ctx, "password mismatch"); !errors.Is(err, ErrFailed) {
			t.Fatal(err)
		}
		return string(k.Salt)
	}
	if salt("alice@example.org") != salt("alice@example.org") || salt("alice@example.org") == salt("bob@example.org") {
		t.Fatal("made-up salts not stable per user")
	}
	if !strings.Contains(f.logs.String(), "user=<alice@example.org>, rip=192.0.2.1, method=SCRAM-SHA-256, service=imap, reason=no SCRAM-SHA-256 keys") ||
		!strings.Contains(f.logs.String(), "user=<bob@example.org>, rip=192.0.2.1, method=SCRAM-SHA-256, service=imap, reason=unknown user") {
		t.Fatalf("log:\n%s", f.logs.String())
	}
	// Succeed after Fail, or twice, is refused.
	e := f.a.Begin("imap", "CRAM-MD5", ip1)
	e.Lookup(ctx, "alice@example.org")
	if _, err := e.Succeed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Succeed(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("second Succeed: %v", err)
	}
}

// TestParallelGuessesCapped: many wrong passwords from one client at once
// get no more than auth.max_failures checked, by Check and by Exchange
// alike; the rest are refused as temporary failures.
func TestParallelGuessesCapped(t *testing.T) {
	for _, how := range []string{"Check", "Exchange"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t, nil) // MaxFailures 3
			ctx := context.Background()
			var wg sync.WaitGroup
			var mu sync.Mutex
			counts := map[string]int{}
			gate := make(chan struct{})
			for range 30 {
				wg.Go(func() {
					<-gate
					var err error
					if how == "Check" {
						_, err = f.a.Check(ctx, "pop3", "PLAIN", "alice@example.org", "wrong", ip1)
					} else {
						e := f.a.Begin("submission", "CRAM-MD5", ip1)
						if _, err = e.Lookup(ctx, "alice@example.org"); err == nil {
							err = e.Fail(ctx, "digest mismatch")
						}
					}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case errors.Is(err, ErrFailed):
						counts["failed"]++
					case errors.Is(err, ErrTemporary):
						counts["refused"]++
					default:
						t.Errorf("err %v", err)
					}
				})
			}
			close(gate)
			wg.Wait()
			if counts["failed"] != 3 || counts["refused"] != 27 {
				t.Fatalf("%v, want 3 failed and 27 refused", counts)
			}
			if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", ip1); !errors.Is(err, ErrTemporary) {
				t.Fatalf("right password while locked out: %v", err)
			}
			f.advance(10*time.Minute + time.Second)
			if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", ip1); err != nil {
				t.Fatalf("right password after the window: %v", err)
			}
		})
	}
}

// TestAttemptReleased: a success, and a directory failure, give the
// attempt's slot back; only failures lock.
func TestAttemptReleased(t *testing.T) {
	f := newFixture(t, nil) // MaxFailures 3
	ctx := context.Background()
	for i := range 5 {
		if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", ip1); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		e := f.a.Begin("imap", "CRAM-MD5", ip1)
		e.Lookup(ctx, "alice@example.org")
		if _, err := e.Succeed(ctx); err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
	}
	f.dir.Fail(errors.New("db gone"))
	for i := range 5 {
		if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", ip1); !errors.Is(err, ErrTemporary) {
			t.Fatalf("directory down %d: %v", i, err)
		}
	}
	f.dir.Fail(nil)
	if _, err := f.a.Check(ctx, "imap", "PLAIN", "alice@example.org", "secret", ip1); err != nil {
		t.Fatalf("after the directory came back: %v", err)
	}
}

func testLogger(w io.Writer) *slog.Logger {
	_, l := mlog.New(w, "mx", slog.LevelDebug)
	return l
}
