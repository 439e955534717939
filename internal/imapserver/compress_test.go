package imapserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// TestCompressImaplib: COMPRESS=DEFLATE (RFC 4978) inside STARTTLS with
// Python's imaplib over a zlib-wrapped socket, the client ending its
// bursts with sync flushes (imaplib2, offlineimap) or partial flushes
// (mbsync): APPEND, SELECT, FETCH, SEARCH, five pipelined commands and
// IDLE with new mail arriving all work through the compressed stream, a
// second COMPRESS is refused, and the 11 KB message crosses the wire in
// far fewer bytes both ways.
func TestCompressImaplib(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", python)
		}
		t.Skipf("%s not installed", python)
	}
	for _, flush := range []string{"sync", "partial"} {
		t.Run(flush, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
			before := compressedSessions.Load()
			res := runCompressClient(t, h, flush)
			if n := compressedSessions.Load() - before; n != 1 {
				t.Errorf("%d sessions compressed, want 1", n)
			}
			if !strings.Contains(res["caps"].(string), "COMPRESS=DEFLATE") {
				t.Errorf("caps %q", res["caps"])
			}
			want := map[string]any{
				"unknown":  "COMPRESS command error: BAD [b'Unknown compression mechanism.']",
				"compress": []any{"OK", "DEFLATE active"},
				"append":   "OK", "select": "1", "body_ok": true, "search": "1",
				"again": []any{"NO", "[COMPRESSIONACTIVE] DEFLATE is active already."},
				"pipelined": []any{"p0 OK Noop completed.", "p1 OK Fetch completed.", "p2 OK Store completed.",
					"* SEARCH 1", "p3 OK Search completed.", "p4 OK Check completed."},
				"idle_start": "+ idling",
				"idle_push":  []any{"* 2 EXISTS", "* 2 RECENT"},
				"idle_done":  "i OK Idle completed.",
				"noop":       "OK",
			}
			for k, w := range want {
				if got := res[k]; !reflect.DeepEqual(got, w) {
					t.Errorf("%s: got %#v, want %#v", k, got, w)
				}
			}
			// The message went up compressed and came back compressed.
			msg := res["msg"].(float64)
			if out := res["raw_out"].(float64); out > msg/4 {
				t.Errorf("client sent %v bytes for a %v-byte message and a few commands", out, msg)
			}
			if in := res["raw_in"].(float64); in > msg/4 {
				t.Errorf("client received %v bytes for a %v-byte message and a few responses", in, msg)
			}
		})
	}
}

// runCompressClient runs testdata/compress_client.py, delivering a
// message to alice's INBOX while the client is in IDLE.
func runCompressClient(t *testing.T, h *harness, flush string) map[string]any {
	t.Helper()
	host, port, _ := net.SplitHostPort(h.addr)
	cmd := exec.CommandContext(t.Context(), python, "testdata/compress_client.py", host, port, h.caFile,
		"alice@example.org", testPass, flush)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var errText strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		errText.WriteString(sc.Text() + "\n")
		if sc.Text() == "idling" {
			h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
			io.WriteString(stdin, "go\n")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("compress_client.py %s: %v\n%s\n%s\nserver log:\n%s", flush, err, stdout.String(), errText.String(), h.logs.String())
	}
	var res map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%q: %v", stdout.String(), err)
	}
	return res
}

// zclient is a test client on a compressed connection.
type zclient struct {
	t    testing.TB
	conn net.Conn
	fw   *flate.Writer
	zr   *bufio.Reader
}

func compressClient(t testing.TB, c *client) *zclient {
	t.Helper()
	c.expect("COMPRESS DEFLATE", "OK DEFLATE active")
	fw, _ := flate.NewWriter(c.conn, flate.BestSpeed)
	return &zclient{t: t, conn: c.conn, fw: fw, zr: bufio.NewReader(flate.NewReader(c.br))}
}

// send writes lines as one burst, sync-flushed.
func (z *zclient) send(lines ...string) {
	z.t.Helper()
	for _, l := range lines {
		fmt.Fprintf(z.fw, "%s\r\n", l)
	}
	if err := z.fw.Flush(); err != nil {
		z.t.Fatal(err)
	}
}

func (z *zclient) line() string {
	z.t.Helper()
	z.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := z.zr.ReadString('\n')
	if err != nil {
		z.t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// until reads lines up to the one starting with prefix, and returns them.
func (z *zclient) until(prefix string) []string {
	z.t.Helper()
	var ls []string
	for {
		l := z.line()
		ls = append(ls, l)
		if strings.HasPrefix(l, prefix) {
			return ls
		}
	}
}

// TestCompressIdle: a compressed session in IDLE is told of new mail at
// once (each burst of responses is sync-flushed).
func TestCompressIdle(t *testing.T) {
	h := start(t, nil)
	z := compressClient(t, h.login(t, "alice@example.org"))
	z.send("s SELECT INBOX")
	z.until("s OK")
	z.send("i IDLE")
	if l := z.line(); l != "+ idling" {
		t.Fatalf("got %q", l)
	}
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	if l := z.line(); l != "* 1 EXISTS" {
		t.Fatalf("got %q", l)
	}
	if l := z.line(); l != "* 1 RECENT" {
		t.Fatalf("got %q", l)
	}
	z.send("DONE")
	if l := z.line(); l != "i OK Idle completed." {
		t.Fatalf("got %q", l)
	}
	z.send("f FETCH 1 (FLAGS)")
	if l := z.line(); l != `* 1 FETCH (FLAGS (\Recent))` {
		t.Fatalf("got %q", l)
	}
}

// TestCompressStates: where COMPRESS is allowed and what it answers
// (RFC 4978 3).
func TestCompressStates(t *testing.T) {
	h := start(t, nil)
	// Before login without TLS: not offered, refused.
	c := h.dial(t)
	if u, _ := c.cmd("CAPABILITY"); strings.Contains(u[0], "COMPRESS") {
		t.Errorf("offered before login without TLS: %q", u[0])
	}
	c.expect("COMPRESS DEFLATE", "BAD COMPRESS before login needs TLS.")
	c.expect("COMPRESS", "BAD missing argument")
	// After login: unknown mechanisms are BAD, DEFLATE once.
	c.expect("LOGIN alice@example.org "+testPass, "OK [CAPABILITY "+postAuthCaps+"] Logged in")
	c.expect("COMPRESS X-LZ4", "BAD Unknown compression mechanism.")
	z := compressClient(t, c)
	z.send("a COMPRESS DEFLATE")
	if l := z.line(); l != "a NO [COMPRESSIONACTIVE] DEFLATE is active already." {
		t.Fatalf("got %q", l)
	}
	z.send("b LOGOUT")
	if ls := z.until("b "); !reflect.DeepEqual(ls, []string{"* BYE Logging out", "b OK Logout completed."}) {
		t.Fatalf("got %q", ls)
	}
	h.waitLog(t, "imap(alice@example.org): Logged out in=")
}

// TestCompressInsideTLS: after STARTTLS, COMPRESS before login is
// allowed; LOGIN and the rest then run compressed inside TLS (RFC 4978
// 3's example).
func TestCompressInsideTLS(t *testing.T) {
	h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
	c := h.dial(t)
	c.expect("STARTTLS", "OK Begin TLS negotiation now.")
	tc := tls.Client(c.conn, h.clientTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	if u, _ := c.cmd("CAPABILITY"); !strings.Contains(u[0], " COMPRESS=DEFLATE") {
		t.Fatalf("not offered inside TLS: %q", u[0])
	}
	z := compressClient(t, c)
	z.send("l LOGIN alice@example.org "+testPass, "s SELECT INBOX", "n NOOP")
	z.until("l OK")
	z.until("s OK")
	if l := z.line(); l != "n OK Noop completed." {
		t.Fatalf("got %q", l)
	}
}

// TestCompressInvalidInput: garbage after COMPRESS ends the session, with
// the reason logged.
func TestCompressInvalidInput(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.expect("COMPRESS DEFLATE", "OK DEFLATE active")
	c.conn.Write([]byte{0xff, 0xff, 0xff, 0xff}) // block type 3: reserved
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c.br)
	h.waitLog(t, "Invalid compressed data in=")
}
