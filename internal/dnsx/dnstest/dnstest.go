package dnstest

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"mailwarden/internal/dnsx"
)

// TTL is the TTL of records added by the helpers.
const TTL = 300

// Server is an authoritative DNS server for any name it is given records
// for. Names are case-insensitive; a trailing dot is optional. Safe for
// concurrent use; records may be changed while the server runs.
//
// A name with records of some type answers NOERROR with no answers
// (NODATA) for other types; a name with none answers NXDOMAIN. A CNAME is
// followed within the server's own data.
type Server struct {
	t    testing.TB
	addr string
	udp  *dns.Server
	tcp  *dns.Server

	mu       sync.Mutex
	rrs      map[string][]dns.RR // by lower-case FQDN
	servfail map[string]bool
	drop     map[string]bool
	truncate map[string]bool
	queries  map[string]int
}

// New starts a server and stops it when the test ends. zone may be nil or
// hold records in master-file syntax, one per line
// ("example.com. MX 10 mx1.example.com."); blank lines and ";" comments
// are skipped.
func New(t testing.TB, zone string) *Server {
	t.Helper()
	pc, ln := listen(t)
	return start(t, pc, ln, zone)
}

// NewAt is New on a fixed address ("127.0.0.53:53"), UDP and TCP, for a
// program that can only use port 53 through /etc/resolv.conf (Postfix
// via libc). The test fails when the address is taken.
func NewAt(t testing.TB, addr, zone string) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		t.Fatalf("dnstest: %v", err)
	}
	return start(t, pc, ln, zone)
}

func start(t testing.TB, pc net.PacketConn, ln net.Listener, zone string) *Server {
	t.Helper()
	s := &Server{
		t:        t,
		rrs:      map[string][]dns.RR{},
		servfail: map[string]bool{},
		drop:     map[string]bool{},
		truncate: map[string]bool{},
		queries:  map[string]int{},
	}
	s.addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: notify}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() { _ = srv.ActivateAndServe() }()
	}
	<-started
	<-started
	t.Cleanup(func() {
		_ = s.udp.Shutdown()
		_ = s.tcp.Shutdown()
	})
	s.Zone(zone)
	return s
}

// listen finds a port free for both UDP and TCP on 127.0.0.1.
func listen(t testing.TB) (net.PacketConn, net.Listener) {
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("dnstest: no port free for both UDP and TCP")
	return nil, nil
}

// Addr is the server's "127.0.0.1:port", for [dns] resolvers.
func (s *Server) Addr() string { return s.addr }

// Resolver returns a resolver asking only this server, with a short
// timeout.
func (s *Server) Resolver() dnsx.Full {
	r, err := dnsx.New([]string{s.addr}, 2*time.Second)
	if err != nil {
		s.t.Fatalf("dnstest: %v", err)
	}
	return r
}

func key(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// Add adds records.
func (s *Server) Add(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		k := key(rr.Header().Name)
		s.rrs[k] = append(s.rrs[k], rr)
	}
}

// Zone adds the records in zone (master-file syntax, one per line).
func (s *Server) Zone(zone string) {
	s.t.Helper()
	for line := range strings.Lines(zone) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			s.t.Fatalf("dnstest: %q: %v", line, err)
		}
		s.Add(rr)
	}
}

// Remove deletes every record of name (and its SERVFAIL/drop/truncate
// marks), so that it answers NXDOMAIN.
func (s *Server) Remove(name string) {
	k := key(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rrs, k)
	delete(s.servfail, k)
	delete(s.drop, k)
	delete(s.truncate, k)
}

func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: dns.Fqdn(name), Rrtype: t, Class: dns.ClassINET, Ttl: TTL}
}

// MX adds an MX record for domain.
func (s *Server) MX(domain string, pref uint16, host string) {
	s.Add(&dns.MX{Hdr: hdr(domain, dns.TypeMX), Preference: pref, Mx: dns.Fqdn(host)})
}

// NullMX publishes a null MX for domain (RFC 7505: "0 .").
func (s *Server) NullMX(domain string) { s.MX(domain, 0, ".") }

// Host adds A or AAAA records for name, one per address (which must
// parse, or the test fails).
func (s *Server) Host(name string, addrs ...string) {
	s.t.Helper()
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			s.t.Fatalf("dnstest: %v", err)
		}
		if ip.Is4() {
			s.Add(&dns.A{Hdr: hdr(name, dns.TypeA), A: ip.AsSlice()})
		} else {
			s.Add(&dns.AAAA{Hdr: hdr(name, dns.TypeAAAA), AAAA: ip.AsSlice()})
		}
	}
}

// TXT adds one TXT record for name; strings longer than 255 bytes are
// split into several character strings, as a zone file would.
func (s *Server) TXT(name, txt string) {
	var parts []string
	for len(txt) > 255 {
		parts, txt = append(parts, txt[:255]), txt[255:]
	}
	s.Add(&dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: append(parts, txt)})
}

// PTR adds a PTR record mapping ip to host.
func (s *Server) PTR(ip, host string) {
	s.t.Helper()
	rev, err := dns.ReverseAddr(ip)
	if err != nil {
		s.t.Fatalf("dnstest: %v", err)
	}
	s.Add(&dns.PTR{Hdr: hdr(rev, dns.TypePTR), Ptr: dns.Fqdn(host)})
}

// NS adds an NS record naming host a server of domain.
func (s *Server) NS(domain, host string) {
	s.Add(&dns.NS{Hdr: hdr(domain, dns.TypeNS), Ns: dns.Fqdn(host)})
}

// CNAME makes name an alias of target.
func (s *Server) CNAME(name, target string) {
	s.Add(&dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: dns.Fqdn(target)})
}

// ServFail makes every query for name answer SERVFAIL (on = true) or
// stop doing so.
func (s *Server) ServFail(name string, on bool) { s.mark(s.servfail, name, on) }

// Drop makes the server ignore UDP queries for name, so the client
// times out (on = true), or stop doing so.
func (s *Server) Drop(name string, on bool) { s.mark(s.drop, name, on) }

// Truncate makes UDP answers for name come back empty with the TC bit,
// so the client must retry over TCP (on = true), or stop doing so.
func (s *Server) Truncate(name string, on bool) { s.mark(s.truncate, name, on) }

func (s *Server) mark(m map[string]bool, name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		m[key(name)] = true
	} else {
		delete(m, key(name))
	}
}

// Queries reports how many queries (any type, UDP or TCP) name received.
func (s *Server) Queries(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[key(name)]
}
