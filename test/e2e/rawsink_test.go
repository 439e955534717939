package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawSink is a capture MX: it says yes to everything and keeps the bytes
// of each DATA exactly as they arrived, up to the first <CRLF>.<CRLF>, so a
// test sees what a lenient next hop would see (go-smtp's server would
// normalise them).
type rawSink struct {
	mu    sync.Mutex
	lines []string // command lines, as read (CRLF removed)
	mails int      // MAIL commands seen
	datas [][]byte // raw DATA contents
}

func startRawSink(t *testing.T, ip string) (*rawSink, int) {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	k := &rawSink{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go k.serve(c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return k, l.Addr().(*net.TCPAddr).Port
}

func (k *rawSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "220 sink.remote.test ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		k.mu.Lock()
		k.lines = append(k.lines, strings.TrimSuffix(line, "\r\n"))
		k.mu.Unlock()
		verb := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(verb, "EHLO"):
			fmt.Fprintf(c, "250-sink.remote.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
		case strings.HasPrefix(verb, "MAIL"):
			k.mu.Lock()
			k.mails++
			k.mu.Unlock()
			fmt.Fprintf(c, "250 ok\r\n")
		case verb == "DATA":
			fmt.Fprintf(c, "354 go\r\n")
			var data []byte
			for !bytes.HasSuffix(data, []byte("\r\n.\r\n")) {
				b, err := r.ReadByte()
				if err != nil {
					return
				}
				data = append(data, b)
			}
			k.mu.Lock()
			k.datas = append(k.datas, data)
			k.mu.Unlock()
			fmt.Fprintf(c, "250 queued\r\n")
		case verb == "QUIT":
			fmt.Fprintf(c, "221 bye\r\n")
			return
		default:
			fmt.Fprintf(c, "250 ok\r\n")
		}
	}
}

func (k *rawSink) got() (int, [][]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mails, append([][]byte(nil), k.datas...)
}

// commands returns the command lines read so far and the messages taken.
func (k *rawSink) commands() ([]string, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.lines...), len(k.datas)
}
