package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := Running(dir); ok || err != nil {
		t.Fatalf("Running on a fresh dir = %v, %v", ok, err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	pid, ok, err := Running(dir)
	if !ok || err != nil || pid != os.Getpid() {
		t.Fatalf("Running while held = %d, %v, %v; want %d", pid, ok, err, os.Getpid())
	}
	_, err = Acquire(dir)
	var he *HeldError
	if !errors.As(err, &he) || he.Pid != os.Getpid() {
		t.Fatalf("second Acquire = %v, want HeldError with pid %d", err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := Running(dir); ok {
		t.Fatal("Running after Release")
	}
	if _, err := os.Stat(PidFile(dir)); err != nil {
		t.Errorf("the pid file is gone after Release (it is never deleted): %v", err)
	}
	l2, err := Acquire(dir) // a stopped server's file is taken over
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
}

func TestControl(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := time.Now().Truncate(time.Second)
	if err := os.WriteFile(SocketFile(dir), nil, 0o600); err != nil { // a dead server's
		t.Fatal(err)
	}
	var kicks []string
	err := ServeControl(ctx, dir, Handlers{
		Status: func() Status {
			return Status{Pid: 7, Version: "v", Started: started, Conns: map[string]int64{"smtp": 2}, Queue: QueueCounts{Deferred: 3}}
		},
		Who: func() []Session {
			return []Session{{User: "alice@example.com", Protocol: "imap", Remote: "127.0.0.1", Since: started}}
		},
		Kick: func(ctx context.Context, match string) Kicked {
			kicks = append(kicks, match)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("kick without a deadline")
			}
			return Kicked{Kicked: 2, Left: 1}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Query(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid != 7 || st.Conns["smtp"] != 2 || st.Queue.Deferred != 3 || !st.Started.Equal(started) {
		t.Errorf("Query = %+v", st)
	}
	who, err := Who(dir)
	if err != nil || len(who) != 1 || who[0].User != "alice@example.com" || !who[0].Since.Equal(started) {
		t.Errorf("Who = %+v, %v", who, err)
	}
	k, err := Kick(dir, "alice@example.com")
	if err != nil || k != (Kicked{Kicked: 2, Left: 1}) || len(kicks) != 1 || kicks[0] != "alice@example.com" {
		t.Errorf("Kick = %+v, %v (handler saw %q)", k, err, kicks)
	}
	for _, bad := range []string{"", "a\nstatus", strings.Repeat("a", 600)} {
		if _, err := Kick(dir, bad); err == nil {
			t.Errorf("Kick(%q) sent", bad)
		}
	}
	raw, err := net.Dial("unix", SocketFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("kick \x01x\n"))
	buf := make([]byte, 200)
	n, _ := raw.Read(buf)
	raw.Close()
	if !strings.Contains(string(buf[:n]), `"error"`) {
		t.Errorf("kick with a control character answered %q", buf[:n])
	}
	if len(kicks) != 1 {
		t.Errorf("bad kicks reached the handler: %q", kicks)
	}
	if fi, err := os.Stat(SocketFile(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", fi, err)
	}
	c, err := net.Dial("unix", SocketFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("shutdown\n"))
	n, _ = c.Read(buf)
	c.Close()
	if string(buf[:n]) != "{\"error\":\"unknown request\"}\n" {
		t.Errorf("unknown request answered %q", buf[:n])
	}
}

func TestCounted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	cl := Counted(l, &n)
	defer cl.Close()
	go func() {
		c, _ := net.Dial("tcp", l.Addr().String())
		defer c.Close()
		c.Read(make([]byte, 1))
	}()
	c, err := cl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("open = %d, want 1", n.Load())
	}
	c.Close()
	c.Close()
	if n.Load() != 0 {
		t.Errorf("after two Closes open = %d, want 0", n.Load())
	}
}

// A server without a handler for a request answers an error, which the
// client reports.
func TestControlMissingHandler(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ServeControl(ctx, dir, Handlers{Status: func() Status { return Status{Pid: 1} }}); err != nil {
		t.Fatal(err)
	}
	if _, err := Who(dir); err == nil || !strings.Contains(err.Error(), "unknown request") {
		t.Errorf("Who without a handler: %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		line, verb, arg string
		ok              bool
	}{
		{"status\n", "status", "", true},
		{"who\r\n", "who", "", true},
		{"kick alice@example.com\n", "kick", "alice@example.com", true},
		{"kick  192.0.2.0/24 \n", "kick", "192.0.2.0/24", true},
		{"kick\n", "", "", false},
		{"kick a\x00b\n", "", "", false},
		{"status now\n", "", "", false},
		{"shutdown\n", "", "", false},
	} {
		verb, arg, err := parseRequest(tc.line)
		if verb != tc.verb || arg != tc.arg || (err == nil) != tc.ok {
			t.Errorf("parseRequest(%q) = %q, %q, %v", tc.line, verb, arg, err)
		}
	}
}

// FuzzParseRequest: a request is refused or names a known verb, and a
// kick's argument is non-empty and free of control characters (it is
// logged).
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"status\n", "who\n", "kick alice@example.com\n", "kick 2001:db8::/64\n", "kick \x1b[2J\n", "kick\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		verb, arg, err := parseRequest(line)
		if err != nil {
			if verb != "" || arg != "" {
				t.Fatalf("refused %q but returned %q, %q", line, verb, arg)
			}
			return
		}
		switch verb {
		case "status", "who":
			if arg != "" {
				t.Fatalf("%q: %s with argument %q", line, verb, arg)
			}
		case "kick":
			if arg == "" || strings.ContainsFunc(arg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("%q: kick argument %q", line, arg)
			}
		default:
			t.Fatalf("%q: verb %q", line, verb)
		}
	})
}
