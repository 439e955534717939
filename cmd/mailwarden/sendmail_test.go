package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"

	"mailwarden/internal/config"
	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/queue"
)

// smSetup makes a data dir with domain test.example and mailboxes alice
// and bob, starts local submission and returns the config path.
func smSetup(t *testing.T) string {
	cfgPath, _ := smSetupStop(t)
	return cfgPath
}

// smSetupStop is smSetup that also returns the function stopping the
// server.
func smSetupStop(t *testing.T) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mailwarden.toml")
	conf := fmt.Sprintf("hostname = \"mx.test.example\"\ndata_dir = %q\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	e := smOpen(t, cfgPath)
	ctx := context.Background()
	if err := e.dir.AddDomain(ctx, directory.Domain{Name: "test.example", Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice@test.example", "bob@test.example"} {
		m, err := e.dir.AddMailbox(ctx, directory.Mailbox{Username: u, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.EnsureMailbox(ctx, m.Username, m.Maildir); err != nil {
			t.Fatal(err)
		}
	}
	return cfgPath, smServe(t, cfgPath)
}

// smServe runs the server's local submission (socket and maildrop
// picker, the code `serve` runs) on cfgPath's data dir until the test
// ends.
func smServe(t *testing.T, cfgPath string) (stop func()) {
	t.Helper()
	e := smOpen(t, cfgPath)
	var current atomic.Pointer[config.Config]
	current.Store(e.cfg)
	q, err := queue.New(e.db, filepath.Join(e.cfg.DataDir, "queue"), false)
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(e.cfg.DataDir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	router := &delivery.Router{Store: e.store, Queue: q, Log: slog.New(slog.DiscardHandler)}
	p, err := startPickup(e, e.cfg, &current, router, slog.New(slog.DiscardHandler), nil, spool, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	p.start(&wg)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			p.stop()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p.srv.Shutdown(ctx)
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

func smOpen(t *testing.T, cfgPath string) *env {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := openData(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// smRun runs `mailwarden sendmail ARGS` with stdin. Once main.go routes
// "sendmail" to c.sendmail this is the same as
// run(append([]string{"-config", cfgPath, "sendmail"}, args...), ...).
func smRun(t *testing.T, cfgPath, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{cfgPath: cfgPath, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	return c.sendmail(args), errb.String()
}

// smMail returns the messages in user's INBOX (Maildir new/).
func smMail(t *testing.T, cfgPath, user string) []string {
	t.Helper()
	e := smOpen(t, cfgPath)
	m, err := e.dir.Mailbox(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(e.store.MailboxPath(m.Maildir), "new", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func smOne(t *testing.T, cfgPath, user string) string {
	t.Helper()
	ms := smMail(t, cfgPath, user)
	if len(ms) != 1 {
		t.Fatalf("%s has %d messages, want 1", user, len(ms))
	}
	return ms[0]
}

func checkCRLF(t *testing.T, msg string) {
	t.Helper()
	if strings.Contains(strings.ReplaceAll(msg, "\r\n", ""), "\n") {
		t.Errorf("bare LF in delivered message:\n%q", msg)
	}
}

func header(msg string) string {
	h, _, _ := strings.Cut(msg, "\r\n\r\n")
	return h + "\r\n"
}

func TestSendmailPlain(t *testing.T) {
	cfg := smSetup(t)
	code, errs := smRun(t, cfg, "Subject: hello\nTo: alice@test.example\n\nline one\nline two\n", "-oi", "-F", "Cron Daemon", "alice@test.example", "BOB+tag@test.example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, u := range []string{"alice@test.example", "bob@test.example"} {
		msg := smOne(t, cfg, u)
		checkCRLF(t, msg)
		h := header(msg)
		for _, re := range []string{
			`(?m)^Received: by mx\.test\.example \(Mailwarden, from userid ` + strconv.Itoa(os.Getuid()) + `\)\r\n\twith local id [0-9B-Z]{14}; .+\r$`,
			`(?m)^Date: .+\r$`,
			`(?m)^Message-ID: <[0-9B-Z]+\.\d{14}@mx\.test\.example>\r$`,
			`(?m)^From: "Cron Daemon" <[^@>]+@mx\.test\.example>\r$`,
			`(?m)^Subject: hello\r$`,
		} {
			if !regexp.MustCompile(re).MatchString(h) {
				t.Errorf("%s: header does not match %s:\n%s", u, re, h)
			}
		}
		if !strings.HasSuffix(msg, "\r\n\r\nline one\r\nline two\r\n") {
			t.Errorf("%s: body: %q", u, msg)
		}
	}
}

func TestSendmailHeadersKept(t *testing.T) {
	cfg := smSetup(t)
	in := "From: Me <me@elsewhere.example>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n"
	if code, errs := smRun(t, cfg, in, "alice@test.example"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	h := header(smOne(t, cfg, "alice@test.example"))
	for _, f := range []string{"From:", "Date:", "Message-ID:"} {
		if n := strings.Count(h, "\n"+f); n != 1 {
			t.Errorf("%d %s fields, want 1:\n%s", n, f, h)
		}
	}
}

func TestSendmailHeaderRecipients(t *testing.T) {
	cfg := smSetup(t)
	in := "To: Alice <alice@test.example>\nBcc: bob@test.example,\n  secret@test.example\nSubject: t\n\nhi\n"
	// secret@ is unknown: the whole message is refused.
	if code, errs := smRun(t, cfg, in, "-t"); code != exNoUser || !strings.Contains(errs, "secret@test.example") {
		t.Fatalf("exit %d, stderr %q; want 67 naming secret@", code, errs)
	}
	if n := len(smMail(t, cfg, "alice@test.example")); n != 0 {
		t.Fatalf("alice got %d messages after a refused submission", n)
	}

	in = "To: Alice <alice@test.example>\nBcc: bob@test.example\nSubject: t\n\nhi\n"
	if code, errs := smRun(t, cfg, in, "-ti"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, u := range []string{"alice@test.example", "bob@test.example"} {
		msg := smOne(t, cfg, u)
		if strings.Contains(strings.ToLower(header(msg)), "bcc") {
			t.Errorf("%s: Bcc not removed:\n%s", u, msg)
		}
	}
}

func TestSendmailQueuesForeign(t *testing.T) {
	cfg := smSetup(t)
	if code, errs := smRun(t, cfg, "Subject: out\n\nbye\n", "-f", "alice@test.example", "carol@remote.example", "alice@test.example"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	e := smOpen(t, cfg)
	q, err := queue.New(e.db, filepath.Join(e.cfg.DataDir, "queue"), false)
	if err != nil {
		t.Fatal(err)
	}
	es, err := q.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Sender != "alice@test.example" || len(es[0].Rcpts) != 1 ||
		es[0].Rcpts[0].Address != "carol@remote.example" || es[0].Rcpts[0].Kind != queue.KindRemote {
		t.Fatalf("queue: %+v", es)
	}
	_, body, err := q.Show(context.Background(), es[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	var b bytes.Buffer
	b.ReadFrom(body)
	if !strings.HasPrefix(b.String(), "Received: by mx.test.example (Mailwarden, from userid "+strconv.Itoa(os.Getuid())+")\r\n\twith local id "+es[0].ID+"; ") {
		t.Errorf("queued message: %q", b.String())
	}
	// The local copy went straight to the mailbox.
	if msg := smOne(t, cfg, "alice@test.example"); !strings.HasPrefix(msg, "Return-Path: <alice@test.example>\r\n") {
		t.Errorf("local copy: %q", msg)
	}
}

func TestSendmailSender(t *testing.T) {
	cfg := smSetup(t)
	if code, errs := smRun(t, cfg, "hi\n", "-fbounces@lists.example", "alice@test.example"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	msg := smOne(t, cfg, "alice@test.example")
	if !strings.HasPrefix(msg, "Return-Path: <bounces@lists.example>\r\n") {
		t.Errorf("Return-Path: %q", msg)
	}
	// The body started without a header: an empty line separates it.
	if !strings.HasSuffix(msg, "From: <bounces@lists.example>\r\n\r\nhi\r\n") {
		t.Errorf("message: %q", msg)
	}
	if code, errs := smRun(t, cfg, "hi\n", "-f", "<>", "bob@test.example"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if msg := smOne(t, cfg, "bob@test.example"); !strings.HasPrefix(msg, "Return-Path: <>\r\n") {
		t.Errorf("null sender: %q", msg)
	}
}

func TestSendmailUnknownUser(t *testing.T) {
	cfg := smSetup(t)
	code, errs := smRun(t, cfg, "Subject: x\n\nx\n", "alice@test.example", "nobody@test.example", "carol@remote.example")
	// The server's reply to RCPT, as an SMTP client gets it.
	if code != exNoUser || !strings.Contains(errs, "550 5.1.1 <nobody@test.example>: Recipient address rejected: User unknown") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if n := len(smMail(t, cfg, "alice@test.example")); n != 0 {
		t.Errorf("alice got %d messages", n)
	}
	e := smOpen(t, cfg)
	q, _ := queue.New(e.db, filepath.Join(e.cfg.DataDir, "queue"), false)
	if es, _ := q.List(context.Background()); len(es) != 0 {
		t.Errorf("queued: %+v", es)
	}
	// A bare name is qualified with the hostname, which is no mail domain here.
	if code, errs := smRun(t, cfg, "x\n", "root"); code != exNoUser || !strings.Contains(errs, "root@mx.test.example") {
		t.Errorf("bare name: exit %d, stderr %q", code, errs)
	}
}

func TestSendmailDot(t *testing.T) {
	cfg := smSetup(t)
	in := "Subject: dot\n\nbefore\n.\nafter\n"
	if code, errs := smRun(t, cfg, in, "alice@test.example"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if msg := smOne(t, cfg, "alice@test.example"); !strings.HasSuffix(msg, "\r\n\r\nbefore\r\n") {
		t.Errorf("without -i the dot must end the message: %q", msg)
	}
	for _, flag := range []string{"-i", "-oi"} {
		if code, errs := smRun(t, cfg, in, flag, "bob@test.example"); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
	}
	ms := smMail(t, cfg, "bob@test.example")
	if len(ms) != 2 {
		t.Fatalf("bob has %d messages", len(ms))
	}
	for _, msg := range ms {
		if !strings.HasSuffix(msg, "\r\n\r\nbefore\r\n.\r\nafter\r\n") {
			t.Errorf("with -i the dot is content: %q", msg)
		}
	}
}

func TestSendmailFlags(t *testing.T) {
	cfg := smSetup(t)
	// Flags cron, mailx and friends pass: accepted and ignored.
	code, errs := smRun(t, cfg, "x\n", "-oem", "-odi", "-oQ/var/spool", "-bm", "-N", "never", "-B8BITMIME", "-v", "--", "alice@test.example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, args := range [][]string{{"-Z", "alice@test.example"}, {"-bs"}, {"-oZ", "alice@test.example"}, {"-f"}, {}, {"-N", "bogus", "a@b.example"}} {
		code, errs := smRun(t, cfg, "x\n", args...)
		if code != exUsage || !strings.Contains(errs, "mailwarden sendmail: ") {
			t.Errorf("%q: exit %d, stderr %q; want 64", args, code, errs)
		}
	}
	if n := len(smMail(t, cfg, "alice@test.example")); n != 1 {
		t.Errorf("alice has %d messages, want 1", n)
	}
}

func TestParseSendmail(t *testing.T) {
	o, cfgPath, err := parseSendmail([]string{"-config", "/x.toml", "-tif", "me@x.example", "-FJoe", "a@b.example", "-c"})
	if err != nil {
		t.Fatal(err)
	}
	if cfgPath != "/x.toml" || !o.headers || !o.dotOK || o.sender != "me@x.example" || o.fullName != "Joe" ||
		!slices.Equal(o.rcpts, []string{"a@b.example", "-c"}) {
		t.Errorf("%+v %q", o, cfgPath)
	}
}

func TestAddrList(t *testing.T) {
	for in, want := range map[string][]string{
		"Alice <a@x.example>, b@x.example":       {"a@x.example", "b@x.example"},
		"root":                                   {"root"},
		"root, Ops <ops@x.example>":              {"root", "ops@x.example"},
		"undisclosed-recipients:;":               nil,
		"=?x-unknown?Q?Z=FCrich?= <z@x.example>": {"z@x.example"},
		"":                                       nil,
	} {
		if got := addrList(in); !slices.Equal(got, want) {
			t.Errorf("addrList(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSendmailMaildrop: with the server stopped, sendmail leaves the
// message in the maildrop and exits 0; the server delivers it when it
// starts, with the uid of the file's owner in the Received field.
func TestSendmailMaildrop(t *testing.T) {
	cfg, stop := smSetupStop(t)
	stop()
	code, errs := smRun(t, cfg, "Subject: later\n\nwhile you were out\n", "-N", "delay,failure", "alice@test.example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	e := smOpen(t, cfg)
	files, _ := filepath.Glob(filepath.Join(e.cfg.DataDir, "maildrop", "*"))
	var drops []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			drops = append(drops, f)
		}
	}
	if len(drops) != 1 || len(smMail(t, cfg, "alice@test.example")) != 0 {
		t.Fatalf("maildrop holds %q, alice has %d messages; want one file and none", drops, len(smMail(t, cfg, "alice@test.example")))
	}
	smServe(t, cfg)
	var msg string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ms := smMail(t, cfg, "alice@test.example"); len(ms) == 1 {
			msg = ms[0]
			break
		}
	}
	if !strings.Contains(msg, "(Mailwarden, from userid "+strconv.Itoa(os.Getuid())+")\r\n") || !strings.HasSuffix(msg, "\r\n\r\nwhile you were out\r\n") {
		t.Fatalf("delivered from the maildrop: %q", msg)
	}
	// The picker removes the file once it has read the 250, which comes
	// after the copy is in the mailbox.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := os.Stat(drops[0])
		if os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("maildrop file still there after delivery: %v", err)
		}
	}
}
