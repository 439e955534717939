// Command loadgen sends N messages of S bytes over C concurrent SMTP
// connections and reports accepted messages per second and the p50/p99
// latency of one message (MAIL FROM to the reply after DATA).
//
//	go run ./bench/loadgen -addr 127.0.0.1:2525 -n 10000 -c 20 -size 5120 -rcpt 'u%d@bench.test' -mailboxes 10
package main

import (
	"bufio"
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
	flag.Parse()

	body := makeBody(*size)
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
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
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
	for i := 0; i < perConn; i++ {
		k := next.Add(1) - 1
		if k >= total {
			break
		}
		t0 := time.Now()
		fmt.Fprintf(c.w, "MAIL FROM:<load@gen.test> SIZE=%d\r\nRCPT TO:<%s>\r\nDATA\r\n", len(body), fmt.Sprintf(rcpt, int(k)%boxes))
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
