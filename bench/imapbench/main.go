// Command imapbench measures an IMAP server the same way for Mailwarden and
// Dovecot: SELECT plus FETCH 1:* (UID FLAGS ENVELOPE), UID SEARCH, APPEND
// throughput, and memory per idle connection (IDLE on N connections; the
// caller reads the server's RSS before and after).
//
//	imapbench -addr 127.0.0.1:1143 -user u@x -pass p -mode fetch -repeat 5
//	imapbench -mode search -repeat 20
//	imapbench -mode sort -repeat 10      (UID SORT (REVERSE DATE) UTF-8 ALL)
//	imapbench -mode thread -repeat 10    (UID THREAD REFERENCES UTF-8 ALL)
//	imapbench -mode append -n 2000 -c 4
//	imapbench -mode idle -n 1000 -hold 10s [-starttls]
//	imapbench -mode mix -c 10 -duration 60s [-login]  (mix.go)
//	imapbench -mode login -n 200 -c 2  (LOGIN+LOGOUT only: the password check's cost)
//	imapbench -mode fetch -compress      (after COMPRESS DEFLATE, RFC 4978)
//
// response_bytes counts the responses as IMAP sees them; wire_bytes what
// crossed the connection for the last of them (compressed with -compress).
package main

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:143", "IMAP server (plaintext; loopback login must be allowed)")
	user := flag.String("user", "", "user")
	pass := flag.String("pass", "", "password")
	mode := flag.String("mode", "fetch", "fetch | search | sort | thread | append | idle | mix | login")
	repeat := flag.Int("repeat", 5, "fetch/search: repetitions")
	n := flag.Int("n", 1000, "append: messages; idle: connections")
	c := flag.Int("c", 4, "append, mix, login: concurrent connections (clients)")
	dur := flag.Duration("duration", 60*time.Second, "mix: how long to run")
	login := flag.Bool("login", false, "mix: a new connection with LOGIN and LOGOUT every cycle")
	hold := flag.Duration("hold", 10*time.Second, "idle: how long to hold the connections")
	folder := flag.String("folder", "INBOX", "folder")
	flag.BoolVar(&startTLS, "starttls", false, "STARTTLS before LOGIN (the certificate is not checked)")
	flag.BoolVar(&compress, "compress", false, "COMPRESS DEFLATE after LOGIN (fetch, search, sort, thread)")
	flag.Parse()

	var err error
	switch *mode {
	case "fetch", "search", "sort", "thread":
		err = readBench(*addr, *user, *pass, *folder, *mode, *repeat)
	case "append":
		err = appendBench(*addr, *user, *pass, *folder, *n, *c)
	case "idle":
		err = idleBench(*addr, *user, *pass, *folder, *n, *hold)
	case "mix":
		err = mixBench(*addr, *user, *pass, *folder, *c, *dur, *login)
	case "login":
		err = loginBench(*addr, *user, *pass, *n, *c)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imapbench:", err)
		os.Exit(1)
	}
}

type client struct {
	c     net.Conn
	wire  *countReader
	r     *bufio.Reader
	w     *bufio.Writer
	flush func() error // the compressor's sync flush, after w's (-compress)
	tag   int
	// exists is the message count the server last told (mix mode).
	exists int
}

// compress: COMPRESS DEFLATE after LOGIN (-compress).
var compress bool

// countReader counts the bytes read from the connection.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// startTLS: dial runs STARTTLS before LOGIN (-starttls).
var startTLS bool

// readSize is the client's read buffer: large for big FETCH answers,
// small for the idle mode's thousand connections.
var readSize = 256 << 10

func dial(addr, user, pass string) (*client, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	cl := &client{c: nc, wire: &countReader{r: nc}, w: bufio.NewWriter(nc)}
	cl.r = bufio.NewReaderSize(cl.wire, readSize)
	if _, err := cl.r.ReadString('\n'); err != nil {
		nc.Close()
		return nil, err
	}
	if startTLS {
		if _, err := cl.cmd("STARTTLS"); err != nil {
			nc.Close()
			return nil, err
		}
		if cl.r.Buffered() > 0 {
			nc.Close()
			return nil, fmt.Errorf("STARTTLS: data after the tagged OK")
		}
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(nc, &tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
		cl.c, cl.wire, cl.w = tc, &countReader{r: tc}, bufio.NewWriter(tc)
		cl.r = bufio.NewReaderSize(cl.wire, readSize)
	}
	if _, err := cl.cmd(fmt.Sprintf("LOGIN %q %q", user, pass)); err != nil {
		nc.Close()
		return nil, err
	}
	if compress {
		if _, err := cl.cmd("COMPRESS DEFLATE"); err != nil {
			nc.Close()
			return nil, err
		}
		// RFC 4978 3: both ways raw deflate from here on; the server's
		// bytes buffered already are compressed too.
		fw, _ := flate.NewWriter(cl.c, flate.BestSpeed)
		cl.r = bufio.NewReaderSize(flate.NewReader(cl.r), readSize)
		cl.w = bufio.NewWriter(fw)
		cl.flush = fw.Flush
	}
	return cl, nil
}

// cmd sends one command and reads until its tagged reply, counting bytes;
// a reply other than OK is an error.
func (cl *client) cmd(s string) (int64, error) {
	st, total, err := cl.run(s)
	if err == nil && st != "OK" && !strings.HasPrefix(st, "OK ") {
		err = fmt.Errorf("%s: %s", s, st)
	}
	return total, err
}

// status sends one command and returns the status word of its tagged
// reply (OK, NO, BAD); err is for a broken connection only.
func (cl *client) status(s string) (string, error) {
	st, _, err := cl.run(s)
	if i := strings.IndexByte(st, ' '); i > 0 {
		st = st[:i]
	}
	return st, err
}

// run sends one command and reads until its tagged reply, counting bytes
// and following EXISTS and EXPUNGE; it returns the tagged reply after the
// tag. Literals in responses are skipped over.
func (cl *client) run(s string) (string, int64, error) {
	cl.tag++
	tag := fmt.Sprintf("b%d", cl.tag)
	cl.w.WriteString(tag + " " + s + "\r\n")
	if err := cl.w.Flush(); err != nil {
		return "", 0, err
	}
	if cl.flush != nil {
		if err := cl.flush(); err != nil {
			return "", 0, err
		}
	}
	var total int64
	for {
		line, err := cl.r.ReadString('\n')
		if err != nil {
			return "", total, err
		}
		total += int64(len(line))
		if i := strings.LastIndexByte(line, '{'); i >= 0 && strings.HasSuffix(line, "}\r\n") {
			var size int64
			fmt.Sscanf(strings.TrimSuffix(line[i+1:], "}\r\n"), "%d", &size)
			if _, err := io.CopyN(io.Discard, cl.r, size); err != nil {
				return "", total, err
			}
			total += size
			continue
		}
		if strings.HasPrefix(line, tag+" ") {
			return strings.TrimSpace(line[len(tag)+1:]), total, nil
		}
		if strings.HasPrefix(line, "* ") {
			cl.noteUntagged(line)
		}
	}
}

func stats(ds []time.Duration) string {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return fmt.Sprintf("min=%.1fms median=%.1fms mean=%.1fms", ms(ds[0]), ms(ds[len(ds)/2]), ms(sum/time.Duration(len(ds))))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func readBench(addr, user, pass, folder, mode string, repeat int) error {
	cl, err := dial(addr, user, pass)
	if err != nil {
		return err
	}
	defer cl.c.Close()
	var ds []time.Duration
	var bytes, wire int64
	for i := 0; i < repeat; i++ {
		t0 := time.Now()
		if _, err := cl.cmd("SELECT " + folder); err != nil {
			return err
		}
		var cmd string
		switch mode {
		case "fetch":
			cmd = "FETCH 1:* (UID FLAGS ENVELOPE)"
		case "sort": // what Roundcube sends for its message list
			cmd = "UID SORT (REVERSE DATE) UTF-8 ALL"
		case "thread":
			cmd = "UID THREAD REFERENCES UTF-8 ALL"
		default:
			cmd = `UID SEARCH UNSEEN SINCE 1-Jan-2020 NOT SUBJECT "zzzz-not-there"`
		}
		w0 := cl.wire.n
		n, err := cl.cmd(cmd)
		if err != nil {
			return err
		}
		ds = append(ds, time.Since(t0))
		bytes, wire = n, cl.wire.n-w0
		if _, err := cl.cmd("UNSELECT"); err != nil {
			cl.cmd("CLOSE")
		}
	}
	fmt.Printf("mode=%s repeat=%d compress=%v response_bytes=%d wire_bytes=%d %s\n", mode, repeat, compress, bytes, wire, stats(ds))
	return nil
}

func appendBench(addr, user, pass, folder string, n, conns int) error {
	msg := "From: bench <b@bench.test>\r\nTo: u@bench.test\r\nSubject: append bench\r\n\r\n" + strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz01234567890123456789012345678\r\n", 75)
	var mu sync.Mutex
	var ds []time.Duration
	var firstErr error
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := dial(addr, user, pass)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			defer cl.c.Close()
			for range next {
				t0 := time.Now()
				_, err := cl.cmd(fmt.Sprintf("APPEND %s (\\Seen) {%d+}\r\n%s", folder, len(msg), msg))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				ds = append(ds, time.Since(t0))
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	el := time.Since(start)
	fmt.Printf("mode=append n=%d conns=%d size=%d elapsed=%.2fs rate=%.0f msgs/s %s\n", n, conns, len(msg), el.Seconds(), float64(n)/el.Seconds(), stats(ds))
	return nil
}

func idleBench(addr, user, pass, folder string, n int, hold time.Duration) error {
	readSize = 4 << 10
	var cls []*client
	defer func() {
		for _, cl := range cls {
			cl.c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		cl, err := dial(addr, user, pass)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		if _, err := cl.cmd("SELECT " + folder); err != nil {
			return err
		}
		cl.w.WriteString("i IDLE\r\n")
		cl.w.Flush()
		if line, err := cl.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+") {
			return fmt.Errorf("IDLE on connection %d: %q %v", i, line, err)
		}
		cls = append(cls, cl)
	}
	fmt.Printf("mode=idle connections=%d idling; holding %s\n", n, hold)
	os.Stdout.Sync()
	time.Sleep(hold)
	return nil
}

// loginBench measures what a login costs: n connections, each LOGIN and
// LOGOUT only, over c concurrent clients.
func loginBench(addr, user, pass string, n, conns int) error {
	var mu sync.Mutex
	var ds []time.Duration
	var firstErr error
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				t0 := time.Now()
				cl, err := dial(addr, user, pass)
				if err == nil {
					_, err = cl.cmd("LOGOUT")
					cl.c.Close()
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				ds = append(ds, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	el := time.Since(start)
	fmt.Printf("mode=login n=%d conns=%d elapsed=%.2fs rate=%.1f logins/s %s\n", n, conns, el.Seconds(), float64(n)/el.Seconds(), stats(ds))
	return nil
}
