// Command loadgen sends N messages of S bytes over C concurrent SMTP
// connections and reports accepted messages per second and the p50/p99
// latency of one message (MAIL FROM to the reply after DATA).
//
//	go run ./bench/loadgen -addr 127.0.0.1:2525 -n 10000 -c 20 -size 5120 -rcpt 'u%d@bench.test' -mailboxes 10
//
// For submission, -starttls upgrades each connection after EHLO (the
// certificate is not verified) and -auth user:password logs in with
// AUTH PLAIN before the first message; -from sets the envelope sender.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "SMTP server")
	n := flag.Int("n", 10000, "messages to send")
	c := flag.Int("c", 20, "concurrent connections")
	size := flag.Int("size", 5120, "message size in bytes")
	rcpt := flag.String("rcpt", "u%d@bench.test", "recipient pattern; %d is 0..mailboxes-1")
	boxes := flag.Int("mailboxes", 10, "number of recipients to spread over")
	perConn := flag.Int("per-conn", 100, "messages per connection before reconnecting")
	flag.StringVar(&opts.from, "from", "load@gen.test", "envelope sender")
	flag.BoolVar(&opts.starttls, "starttls", false, "STARTTLS after EHLO (certificate not verified), then EHLO again")
	authFlag := flag.String("auth", "", "user:password for AUTH PLAIN (empty: no AUTH)")
	msgFile := flag.String("message", "", "send this message file as it is (e.g. DKIM-signed; LF ends become CRLF) instead of a generated one")
	flag.StringVar(&opts.local, "local", "", "local IP address to connect from (e.g. 127.0.0.2, outside mynetworks)")
	flag.Parse()
	if *authFlag != "" {
		user, pass, ok := strings.Cut(*authFlag, ":")
		if !ok {
			fmt.Fprintln(os.Stderr, "loadgen: -auth wants user:password")
			os.Exit(2)
		}
		opts.auth = base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	}

	body := makeBody(*size)
	if *msgFile != "" {
		data, err := os.ReadFile(*msgFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		body = messageBody(data)
		*size = len(body)
	}
	var next, failed atomic.Int64
	lat := make([][]time.Duration, *c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for next.Load() < int64(*n) {
				if err := session(*addr, body, *rcpt, *boxes, *perConn, int64(*n), &next, &lat[w]); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, "loadgen:", err)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[int(float64(len(all)-1)*p)]
	}
	fmt.Printf("sent=%d failed_sessions=%d elapsed=%.2fs rate=%.0f msgs/s p50=%.2fms p99=%.2fms size=%d conns=%d\n",
		len(all), failed.Load(), elapsed.Seconds(), float64(len(all))/elapsed.Seconds(),
		float64(pct(0.50).Microseconds())/1000, float64(pct(0.99).Microseconds())/1000, *size, *c)
	if len(all) < *n {
		os.Exit(1)
	}
}

// opts holds the session options set by flags.
var opts struct {
	from     string
	starttls bool
	auth     string // base64 AUTH PLAIN initial response; empty: no AUTH
	local    string // source address, "" for any
}

// messageBody makes a message file ready for DATA: CRLF line ends, dot
// stuffing (RFC 5321 4.5.2), a final line end.
func messageBody(data []byte) []byte {
	s := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	lines := strings.SplitAfter(s, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") {
			lines[i] = "." + l
		}
	}
	return []byte(strings.Join(lines, ""))
}

func makeBody(size int) []byte {
	var b strings.Builder
	b.WriteString("From: loadgen <load@gen.test>\r\nTo: bench\r\nSubject: load test\r\nMessage-ID: <MSGID@gen.test>\r\n\r\n")
	line := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 2) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return []byte(b.String()[:size-2] + "\r\n")
}

type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (c *conn) expect(code string) error {
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, code) {
			return fmt.Errorf("want %s, got %q", code, strings.TrimSpace(line))
		}
		if len(line) > 3 && line[3] == ' ' {
			return nil
		}
	}
}

func (c *conn) cmd(s, code string) error {
	c.w.WriteString(s + "\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.expect(code)
}

// session sends up to perConn messages on one connection, using PIPELINING
// for MAIL/RCPT/DATA as real MTAs do.
func session(addr string, body []byte, rcpt string, boxes, perConn int, total int64, next *atomic.Int64, lat *[]time.Duration) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	if opts.local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(opts.local)}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	c := &conn{c: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	if err := c.expect("220"); err != nil {
		return err
	}
	if err := c.cmd("EHLO loadgen.test", "250"); err != nil {
		return err
	}
	if opts.starttls {
		if err := c.cmd("STARTTLS", "220"); err != nil {
			return err
		}
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(nc, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		defer tc.Close()
		c = &conn{c: tc, r: bufio.NewReader(tc), w: bufio.NewWriter(tc)}
		if err := c.cmd("EHLO loadgen.test", "250"); err != nil {
			return err
		}
	}
	if opts.auth != "" {
		if err := c.cmd("AUTH PLAIN "+opts.auth, "235"); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	for i := 0; i < perConn; i++ {
		k := next.Add(1) - 1
		if k >= total {
			break
		}
		t0 := time.Now()
		fmt.Fprintf(c.w, "MAIL FROM:<%s> SIZE=%d\r\nRCPT TO:<%s>\r\nDATA\r\n", opts.from, len(body), fmt.Sprintf(rcpt, int(k)%boxes))
		if err := c.w.Flush(); err != nil {
			return err
		}
		for _, code := range []string{"250", "250", "354"} {
			if err := c.expect(code); err != nil {
				return fmt.Errorf("message %d: %w", k, err)
			}
		}
		c.w.Write([]byte(strings.Replace(string(body), "MSGID", fmt.Sprint(k), 1)))
		c.w.WriteString(".\r\n")
		if err := c.w.Flush(); err != nil {
			return err
		}
		if err := c.expect("250"); err != nil {
			return fmt.Errorf("message %d: %w", k, err)
		}
		*lat = append(*lat, time.Since(t0))
	}
	c.cmd("QUIT", "221")
	return nil
}
