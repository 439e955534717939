package imapserver

import (
	"bufio"
	"compress/flate"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
)

// TestCompressImaplib: COMPRESS=DEFLATE (RFC 4978) with Python's imaplib
// over a zlib-wrapped socket: APPEND, SELECT, FETCH and SEARCH work
// through the compressed stream, a second COMPRESS is refused, and the
// 11 KB message crosses the wire in far fewer bytes.
func TestCompressImaplib(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", python)
		}
		t.Skipf("%s not installed", python)
	}
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	cmd := exec.CommandContext(t.Context(), python, "testdata/compress_client.py", host, port, "alice@example.org", testPass)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("compress_client.py: %v\n%s\nserver log:\n%s", err, outb, h.logs.String())
	}
	var res map[string]any
	if err := jsonUnmarshal(outb, &res); err != nil {
		t.Fatalf("%q: %v", outb, err)
	}
	if !strings.Contains(res["caps"].(string), "COMPRESS=DEFLATE") {
		t.Errorf("caps %q", res["caps"])
	}
	for k, want := range map[string]any{
		"compress": []any{"OK", "DEFLATE active"}, "append": "OK", "select": "1", "body_ok": true,
		"search": "1", "again": "NO", "noop": "OK",
	} {
		if got := res[k]; !equalJSON(got, want) {
			t.Errorf("%s: got %v, want %v", k, got, want)
		}
	}
	// The message went up compressed and came back compressed.
	if in, msg := res["raw_out"].(float64), res["msg"].(float64); in > msg/4 {
		t.Errorf("client sent %v bytes for a %v-byte message and a few commands", in, msg)
	}
	if in, msg := res["raw_in"].(float64), res["msg"].(float64); in > msg/4 {
		t.Errorf("client received %v bytes for a %v-byte message and a few responses", in, msg)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func equalJSON(a, b any) bool { return reflect.DeepEqual(a, b) }

// BenchmarkCompressIdleHeap measures the heap a compressed session keeps
// while idle with a 10,000-message INBOX selected (compressors are
// pooled, so an idle session holds only its inflater).
//
//	go test -run '^$' -bench CompressIdleHeap -benchtime 1x ./internal/imapserver/
func BenchmarkCompressIdleHeap(b *testing.B) {
	const msgs, sessions = 10000, 50
	h := start(b, func(c *config.Config) {
		c.IMAP.MaxConnections = 10 * sessions
		c.IMAP.MaxConnectionsPerIP = 10 * sessions
	})
	h.importINBOX(b, msgs)
	for range b.N {
		base := heapInUse()
		var conns []net.Conn
		for range sessions {
			c, err := net.Dial("tcp", h.addr)
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
			c.SetDeadline(time.Now().Add(time.Minute))
			br := bufio.NewReaderSize(c, 512)
			if _, err := br.ReadSlice('\n'); err != nil {
				b.Fatal(err)
			}
			rawCmd(b, c, br, "a", "LOGIN alice@example.org "+testPass)
			rawCmd(b, c, br, "z", "COMPRESS DEFLATE")
			fw, _ := flate.NewWriter(c, flate.BestSpeed)
			fmt.Fprintf(fw, "b SELECT INBOX\r\nc IDLE\r\n")
			fw.Flush()
			zr := bufio.NewReader(flate.NewReader(br))
			for {
				l, err := zr.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				if strings.HasPrefix(l, "+ ") {
					break
				}
			}
		}
		idle := heapInUse()
		b.ReportMetric(float64(idle-base)/sessions, "B/session")
		for _, c := range conns {
			c.Close()
		}
	}
}

// TestCompressIdle: a compressed session in IDLE is told of new mail at
// once (each burst of responses is sync-flushed).
func TestCompressIdle(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	c.ok("COMPRESS DEFLATE")
	fw, _ := flate.NewWriter(c.conn, flate.BestSpeed)
	zr := bufio.NewReader(flate.NewReader(c.br))
	send := func(s string) {
		fmt.Fprintf(fw, "%s\r\n", s)
		fw.Flush()
	}
	line := func() string {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := zr.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return strings.TrimSuffix(l, "\r\n")
	}
	send("s SELECT INBOX")
	for l := line(); !strings.HasPrefix(l, "s OK"); l = line() {
	}
	send("i IDLE")
	if l := line(); l != "+ idling" {
		t.Fatalf("got %q", l)
	}
	h.deliver(t, "alice@example.org", "INBOX", testMessage(1))
	if l := line(); l != "* 1 EXISTS" {
		t.Fatalf("got %q", l)
	}
	if l := line(); l != "* 1 RECENT" {
		t.Fatalf("got %q", l)
	}
	send("DONE")
	if l := line(); l != "i OK Idle completed." {
		t.Fatalf("got %q", l)
	}
	send("f FETCH 1 (FLAGS)")
	if l := line(); l != `* 1 FETCH (FLAGS (\Recent))` {
		t.Fatalf("got %q", l)
	}
}
