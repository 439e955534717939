// Command sink is the remote end of the outbound benchmark: an SMTP server
// that discards what it receives and a tiny authoritative DNS server that
// points sink.test at it.
//
//	go run ./bench/sink -port 2526 -dnsport 5353 -tempfail 0.5 -stats /tmp/sink.stats
//
// SMTP listens on -addr:-port (default 127.0.0.2) and answers
// "451 4.7.1" to the recipients whose address hashes (FNV-1a) into the
// -tempfail fraction, so the same address is refused on every attempt.
// DNS listens on 127.0.0.1:-dnsport (UDP and TCP) and answers
// "sink.test MX 10 mx.sink.test" and "mx.sink.test A <-addr>"; other names
// get NXDOMAIN. The counters are written to -stats every second (one line
// of key=value pairs, replaced atomically; -interval changes the period) and printed on SIGTERM/SIGINT.
package main

import (
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

type stats struct {
	conns      atomic.Int64
	msgs       atomic.Int64 // messages accepted after DATA
	rcpts      atomic.Int64 // recipients accepted (in accepted messages)
	tempfailed atomic.Int64 // RCPT answered 451, every attempt
	bytes      atomic.Int64
	lastNanos  atomic.Int64 // time of the last accepted message or 451

	mu         sync.Mutex
	failedAddr map[string]bool // distinct addresses answered 451
}

func (st *stats) line() string {
	st.mu.Lock()
	distinct := len(st.failedAddr)
	st.mu.Unlock()
	return fmt.Sprintf("conns=%d msgs=%d rcpts=%d tempfailed=%d tempfailed_distinct=%d bytes=%d last_ns=%d",
		st.conns.Load(), st.msgs.Load(), st.rcpts.Load(), st.tempfailed.Load(), distinct, st.bytes.Load(), st.lastNanos.Load())
}

type backend struct {
	st       *stats
	tempfail uint64 // out of 1<<32
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.st.conns.Add(1)
	return &session{b: b}, nil
}

type session struct {
	b     *backend
	rcpts int64
}

func (s *session) Reset()        { s.rcpts = 0 }
func (s *session) Logout() error { return nil }

func (s *session) Mail(string, *smtp.MailOptions) error { s.rcpts = 0; return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(to)))
	if uint64(h.Sum32()) < s.b.tempfail {
		st := s.b.st
		st.tempfailed.Add(1)
		st.mu.Lock()
		st.failedAddr[strings.ToLower(to)] = true
		st.mu.Unlock()
		st.lastNanos.Store(time.Now().UnixNano())
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "<" + to + ">: try again later"}
	}
	s.rcpts++
	return nil
}

func (s *session) Data(r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	st := s.b.st
	st.bytes.Add(n)
	st.rcpts.Add(s.rcpts)
	st.msgs.Add(1)
	st.lastNanos.Store(time.Now().UnixNano())
	s.rcpts = 0
	return nil
}

// zone answers for sink.test and mx.sink.test only.
func dnsHandler(mxIP net.IP) dns.HandlerFunc {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		if len(req.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
			_ = w.WriteMsg(m)
			return
		}
		q := req.Question[0]
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Rrtype: q.Qtype, Ttl: 300}
		switch strings.ToLower(q.Name) {
		case "sink.test.":
			if q.Qtype == dns.TypeMX {
				m.Answer = append(m.Answer, &dns.MX{Hdr: hdr, Preference: 10, Mx: "mx.sink.test."})
			}
		case "mx.sink.test.":
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: mxIP})
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	}
}

func writeStats(path, line string) {
	if path == "" {
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(line+"\n"), 0o644); err != nil {
		log.Print(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		log.Print(err)
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.2", "IP address for SMTP (and the A record of mx.sink.test)")
	port := flag.Int("port", 2526, "SMTP port")
	dnsPort := flag.Int("dnsport", 5353, "DNS port on 127.0.0.1 (UDP and TCP)")
	tempfail := flag.Float64("tempfail", 0, "fraction of recipient addresses answered 451 4.7.1 (by hash)")
	statsPath := flag.String("stats", "", "file rewritten every -interval with the counters")
	interval := flag.Duration("interval", time.Second, "how often -stats is rewritten")
	flag.Parse()
	log.SetPrefix("sink: ")
	if *tempfail < 0 || *tempfail > 1 {
		log.Fatal("-tempfail must be within 0..1")
	}
	ip := net.ParseIP(*addr).To4()
	if ip == nil {
		log.Fatalf("-addr %q is not an IPv4 address", *addr)
	}

	st := &stats{failedAddr: map[string]bool{}}
	be := &backend{st: st, tempfail: uint64(*tempfail * (1 << 32))}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.sink.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.MaxRecipients = 10000
	srv.MaxMessageBytes = 1 << 30
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	l, err := net.Listen("tcp", net.JoinHostPort(*addr, fmt.Sprint(*port)))
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	dnsAddr := net.JoinHostPort("127.0.0.1", fmt.Sprint(*dnsPort))
	h := dnsHandler(ip)
	udp := &dns.Server{Addr: dnsAddr, Net: "udp", Handler: h}
	tcp := &dns.Server{Addr: dnsAddr, Net: "tcp", Handler: h}
	for _, d := range []*dns.Server{udp, tcp} {
		go func() {
			if err := d.ListenAndServe(); err != nil {
				log.Fatal(err)
			}
		}()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	writeStats(*statsPath, st.line())
	for {
		select {
		case <-tick.C:
			writeStats(*statsPath, st.line())
		case <-sig:
			srv.Close()
			_ = udp.Shutdown()
			_ = tcp.Shutdown()
			line := st.line()
			writeStats(*statsPath, line)
			fmt.Println(line)
			return
		}
	}
}
