package mlog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/event"
)

var peer = event.Peer{IP: netip.MustParseAddr("192.0.2.7")}

func TestWriterFileLineAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	w, err := Open(Options{Host: "mx", Name: "mw", File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Handle(&event.Connect{Program: event.Submission, Client: peer})
	w.Handle(&event.Login{User: "u", Method: "PLAIN", RIP: peer.IP, LIP: peer.IP})
	// logrotate: move the file away, then SIGHUP makes the server reopen.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	w.Handle(&event.Removed{QueueID: "ABC"}) // still to the old file
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	w.Handle(&event.Removed{QueueID: "DEF"})
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	pid := strconv.Itoa(os.Getpid())
	want := regexp.MustCompile(`^(?:[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mx mw/submission/smtpd\[` + pid + `\]: connect from unknown\[192\.0\.2\.7\]
[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mx mw\[` + pid + `\]: imap-login: Login: user=<u>, method=PLAIN, rip=192\.0\.2\.7, lip=192\.0\.2\.7, mpid=` + pid + `
[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mx mw/qmgr\[` + pid + `\]: ABC: removed
)$`)
	if !want.Match(old) {
		t.Errorf("rotated file:\n%s", old)
	}
	if !strings.HasSuffix(string(cur), " mx mw/qmgr["+pid+"]: DEF: removed\n") || strings.Count(string(cur), "\n") != 1 {
		t.Errorf("new file:\n%s", cur)
	}
}

func TestWriterLevelAndControlChars(t *testing.T) {
	var buf bytes.Buffer
	w, err := Open(Options{Host: "mx", Level: slog.LevelWarn, Stderr: &buf})
	if err != nil {
		t.Fatal(err)
	}
	w.Handle(&event.Connect{Client: peer}) // info: dropped
	w.Handle(&event.AuthFailed{Client: peer, Mechanism: "PLAIN", User: "x\r\nDec  3 forged: line"})
	got := buf.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "mailwarden/submission/smtpd[") ||
		!strings.HasSuffix(got, "sasl_username=x??Dec  3 forged: line\n") {
		t.Errorf("got %q", got)
	}
}

func TestWriterJSON(t *testing.T) {
	var buf bytes.Buffer
	w, err := Open(Options{Host: "mx", JSON: true, Stderr: &buf})
	if err != nil {
		t.Fatal(err)
	}
	w.Handle(&event.Queued{QueueID: "ABC", Client: peer})
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if got["program"] != "mailwarden/smtpd" || got["event"] != "Queued" || got["text"] != "ABC: client=unknown[192.0.2.7]" ||
		got["host"] != "mx" || got["level"] != "INFO" {
		t.Errorf("got %v", got)
	}
}

func TestWriterSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	w, err := Open(Options{Host: "mx", Syslog: true, SyslogAddr: sock, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Handle(&event.Removed{QueueID: "ABC"})
	w.Handle(&event.AuthFailed{Client: peer, Mechanism: "LOGIN"})
	w.Handle(&event.LoginDisconnect{Failures: 1, RIP: peer.IP, LIP: peer.IP})
	pid := strconv.Itoa(os.Getpid())
	for _, want := range []string{
		`<22>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mailwarden/qmgr\[` + pid + `\]: ABC: removed$`,
		`<20>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mailwarden/submission/smtpd\[` + pid + `\]: warning: unknown\[192\.0\.2\.7\]: SASL LOGIN authentication failed: authentication failure$`,
		`<22>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mailwarden\[` + pid + `\]: imap-login: Disconnected \(auth failed, 1 attempts in 0 secs\): rip=192\.0\.2\.7, lip=192\.0\.2\.7$`,
	} {
		buf := make([]byte, 2048)
		l.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := l.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(want).Match(buf[:n]) {
			t.Errorf("got %q, want %s", buf[:n], want)
		}
	}
}

func TestHandlerPublishesNotes(t *testing.T) {
	var got []*event.Note
	bus := event.NewBus(event.SubscriberFunc(func(ev event.Event) { got = append(got, ev.(*event.Note)) }))
	l := Component(NewLogger(bus, slog.LevelInfo), "submission")
	l.Debug("hidden")
	l.Warn("disk low", "free", "1 MB")
	if len(got) != 1 || got[0].Program != event.Submission || got[0].Level != slog.LevelWarn || got[0].Text != `disk low free="1 MB"` {
		t.Fatalf("got %+v", got)
	}
}

// BenchmarkWriterDelivery is the cost of writing one delivery line.
func BenchmarkWriterDelivery(b *testing.B) {
	w, err := Open(Options{Host: "mx", Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	ev := &event.Delivery{Program: event.Virtual, QueueID: "5Y3J98TLD5VFMG", To: "alice@example.org", Relay: "local",
		Delay: 20 * time.Millisecond, DSN: "2.0.0", Text: "delivered to maildir"}
	b.ReportAllocs()
	for b.Loop() {
		w.Handle(ev)
	}
}
