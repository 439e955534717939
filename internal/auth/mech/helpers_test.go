package mech

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"mailwarden/internal/auth/login"
	"mailwarden/internal/auth/password"
	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/mlog"
	"mailwarden/internal/sqldb"
	"mailwarden/internal/testutil"
)

// fixture is a real login.Authenticator over a real (SQLite) directory.
type fixture struct {
	auth *login.Authenticator
	dir  *directory.Directory
	cfg  atomic.Pointer[config.Config]
	logs *testutil.Buffer
}

var (
	ip1 = netip.MustParseAddr("192.0.2.1")
	ip2 = netip.MustParseAddr("192.0.2.2")
)

// newFixture holds mailboxes with password testutil.Secret in example.org:
//
//	alice    argon2id, SCRAM keys stored (4096 iterations)
//	off      the same, inactive
//	nokeys   argon2id, no SCRAM keys
//	dove     a Dovecot "{SCRAM-SHA-256}" stored hash
//	plain    "{PLAIN}secret"
//	cram     "{CRAM-MD5}..." made by doveadm, when installed
func newFixture(t testing.TB, mod func(*config.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.Auth.FailureDelay = config.Duration(time.Millisecond)
	cfg.Auth.MaxFailures = 3
	cfg.Auth.Mechanisms = []string{"PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5"}
	cfg.Auth.SCRAMIterations = 4096
	if mod != nil {
		mod(cfg)
	}
	f := &fixture{logs: &testutil.Buffer{}}
	f.cfg.Store(cfg)
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.dir = directory.New(db)
	if err := f.dir.AddDomain(ctx, directory.Domain{Name: "example.org", Active: true}); err != nil {
		t.Fatal(err)
	}
	argon := testutil.SecretHash(t)
	keys, err := password.NewSCRAMKeys(testutil.Secret, 4096)
	if err != nil {
		t.Fatal(err)
	}
	dove, _ := password.NewSCRAMKeys(testutil.Secret, 4096)
	for _, m := range []struct {
		user, hash string
		active     bool
		keys       bool
	}{
		{"alice", argon, true, true},
		{"off", argon, false, true},
		{"nokeys", argon, true, false},
		{"dove", dove.String(), true, false},
		{"plain", "{PLAIN}" + testutil.Secret, true, false},
	} {
		addr := m.user + "@example.org"
		if _, err := f.dir.AddMailbox(ctx, directory.Mailbox{Username: addr, PasswordHash: m.hash, Active: m.active}); err != nil {
			t.Fatal(err)
		}
		if m.keys {
			if err := f.dir.SetSCRAMKeys(ctx, addr, m.hash, keys); err != nil {
				t.Fatal(err)
			}
		}
	}
	if doveadm, err := exec.LookPath("doveadm"); err == nil {
		out, err := exec.Command(doveadm, "pw", "-s", "CRAM-MD5", "-p", testutil.Secret).Output()
		if err != nil {
			t.Fatal(err)
		}
		h := strings.TrimSpace(string(out))
		if _, err := f.dir.AddMailbox(ctx, directory.Mailbox{Username: "cram@example.org", PasswordHash: h, Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	log := mlog.Component(testLogger(f.logs), "auth")
	f.auth = login.New(f.dir, f.cfg.Load, log)
	return f
}

func (f *fixture) opts(ip netip.Addr) Options {
	return Options{Auth: f.auth, Config: f.cfg.Load(), Service: "imap", IP: ip, Hostname: "mx.example", Ctx: context.Background(), Timeout: 10 * time.Second}
}

func (f *fixture) new(t testing.TB, name string, ip netip.Addr) Server {
	t.Helper()
	s, err := New(name, f.opts(ip))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitLog waits for a log line containing want.
func (f *fixture) waitLog(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", want, f.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scramRun runs the xdg-go/scram client against s. It returns the
// server-first-message (or "") and the error that ended the exchange.
func scramRun(t testing.TB, s Server, user, pw string) (serverFirst string, err error) {
	t.Helper()
	c, err := scram.SHA256.NewClient(user, pw, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := c.NewConversation()
	msg, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	ch, done, err := s.Next([]byte(msg))
	for step := 0; err == nil && !done; step++ {
		if step == 0 {
			serverFirst = string(ch)
		}
		resp, cerr := conv.Step(string(ch))
		if cerr != nil {
			return serverFirst, cerr
		}
		ch, done, err = s.Next([]byte(resp))
	}
	if err == nil && !conv.Valid() {
		t.Fatalf("client did not accept the server signature")
	}
	return serverFirst, err
}

// saltIter is the "s=...,i=..." part of a server-first-message.
func saltIter(serverFirst string) string {
	_, rest, _ := strings.Cut(serverFirst, ",s=")
	return "s=" + rest
}

// needTool returns the path of tool, failing under CI=true and skipping
// otherwise when it is not installed.
func needTool(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", tool)
		}
		t.Skipf("%s not installed", tool)
	}
	return p
}

func isErr(err, target error) bool { return errors.Is(err, target) }

func testLogger(w io.Writer) *slog.Logger {
	_, l := mlog.New(w, "mx", slog.LevelDebug)
	return l
}
