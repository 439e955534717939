package spf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.yaml.in/yaml/v3"

	"mailwarden/internal/dnsx"
)

// The RFC 7208 test suite (openspf.org, release 2014.04; testdata/
// rfc7208-tests.yml with its LICENSE), run against the real resolver
// (dnsx.New) talking to an in-process DNS server on 127.0.0.1 that serves
// each scenario's zonedata.

type suiteDoc struct {
	Description string
	Tests       map[string]suiteCase
	Zonedata    map[string][]any
}

type suiteCase struct {
	Helo        string
	Host        string
	Mailfrom    string
	Result      any // a result or a list of acceptable ones
	Explanation string
}

func (c suiteCase) results() []Result {
	switch r := c.Result.(type) {
	case string:
		return []Result{Result(r)}
	case []any:
		var out []Result
		for _, x := range r {
			out = append(out, Result(fmt.Sprint(x)))
		}
		return out
	}
	return nil
}

func loadSuite(t *testing.T) []suiteDoc {
	t.Helper()
	raw, err := os.ReadFile("testdata/rfc7208-tests.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []suiteDoc
	for {
		var d suiteDoc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("suite: %v", err)
		}
		docs = append(docs, d)
	}
	return docs
}

func TestRFC7208Suite(t *testing.T) {
	docs := loadSuite(t)
	total, passed := 0, 0
	var failed []string
	for _, d := range docs {
		z := newSuiteZone(t, d.Zonedata)
		r, err := dnsx.New([]string{z.addr}, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		c := &Checker{DNS: r.(dnsx.RRLookup), Receiver: "receiver.example", Timeout: 10 * time.Second}
		names := make([]string, 0, len(d.Tests))
		for n := range d.Tests {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, name := range names {
			tc := d.Tests[name]
			total++
			ok := t.Run(name, func(t *testing.T) {
				ip, err := netip.ParseAddr(tc.Host)
				if err != nil {
					t.Fatalf("host %q: %v", tc.Host, err)
				}
				v := c.CheckMailFrom(context.Background(), ip, tc.Mailfrom, tc.Helo)
				want := tc.results()
				if !slices.Contains(want, v.Result) {
					t.Fatalf("%s (%s): result %s (%s), want %v", d.Description, name, v.Result, v.Explanation, want)
				}
				if tc.Explanation != "" && v.Result == Fail {
					wantExp := tc.Explanation
					if wantExp == "DEFAULT" {
						wantExp = DefaultExplanation
					}
					if v.Explanation != wantExp {
						t.Fatalf("%s (%s): explanation %q, want %q", d.Description, name, v.Explanation, wantExp)
					}
				}
			})
			if ok {
				passed++
			} else {
				failed = append(failed, name)
			}
		}
	}
	t.Logf("RFC 7208 suite: %d/%d passed; failed: %v", passed, total, failed)
	if total != 203 {
		t.Errorf("suite has %d cases, want 203", total)
	}
}

// suiteZone is an authoritative server for one scenario's zonedata, with
// the suite's conventions: SPF-type records are also served as TXT unless
// the name lists TXT records ("TXT: NONE" means none), and TIMEOUT makes
// queries for the name's absent types go unanswered.
type suiteZone struct {
	addr    string
	mu      sync.Mutex
	rrs     map[string][]dns.RR // by canonical lower-case name
	timeout map[string]bool
}

// canon is the presentation form of name as the server sees it in a
// question (bytes such as spaces escaped), lower case, with the dot.
func canon(name string) string {
	buf := make([]byte, 512)
	off, err := dns.PackDomainName(dns.Fqdn(name), buf, 0, nil, false)
	if err != nil {
		return strings.ToLower(dns.Fqdn(name))
	}
	n, _, err := dns.UnpackDomainName(buf[:off], 0)
	if err != nil {
		return strings.ToLower(dns.Fqdn(name))
	}
	return strings.ToLower(n)
}

func txtEscape(s string) string { return strings.ReplaceAll(s, `\`, `\\`) }

func newSuiteZone(t *testing.T, zd map[string][]any) *suiteZone {
	t.Helper()
	z := &suiteZone{rrs: map[string][]dns.RR{}, timeout: map[string]bool{}}
	for name, entries := range zd {
		k := canon(name)
		hdr := func(typ uint16) dns.RR_Header {
			return dns.RR_Header{Name: k, Rrtype: typ, Class: dns.ClassINET, Ttl: 300}
		}
		hasTXT := false
		var spf [][]string
		for _, e := range entries {
			if s, ok := e.(string); ok && s == "TIMEOUT" {
				z.timeout[k] = true
				continue
			}
			m, ok := e.(map[string]any)
			if !ok || len(m) != 1 {
				t.Fatalf("zonedata %s: entry %#v", name, e)
			}
			for typ, val := range m {
				switch typ {
				case "SPF", "TXT":
					strs := txtStrings(val)
					if typ == "TXT" {
						hasTXT = true
						if len(strs) == 1 && strs[0] == "NONE" {
							continue
						}
						z.rrs[k] = append(z.rrs[k], &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: strs})
						continue
					}
					spf = append(spf, strs)
					z.rrs[k] = append(z.rrs[k], &dns.SPF{Hdr: hdr(dns.TypeSPF), Txt: strs})
				case "A", "AAAA":
					ip := netip.MustParseAddr(fmt.Sprint(val))
					if typ == "A" {
						z.rrs[k] = append(z.rrs[k], &dns.A{Hdr: hdr(dns.TypeA), A: ip.AsSlice()})
					} else {
						z.rrs[k] = append(z.rrs[k], &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip.AsSlice()})
					}
				case "MX":
					l := val.([]any)
					z.rrs[k] = append(z.rrs[k], &dns.MX{Hdr: hdr(dns.TypeMX), Preference: uint16(l[0].(int)), Mx: dns.Fqdn(fmt.Sprint(l[1]))})
				case "PTR":
					z.rrs[k] = append(z.rrs[k], &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: dns.Fqdn(fmt.Sprint(val))})
				case "CNAME":
					z.rrs[k] = append(z.rrs[k], &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(fmt.Sprint(val))})
				default:
					t.Fatalf("zonedata %s: type %s", name, typ)
				}
			}
		}
		if !hasTXT {
			for _, strs := range spf {
				z.rrs[k] = append(z.rrs[k], &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: strs})
			}
		}
		if _, ok := z.rrs[k]; !ok {
			z.rrs[k] = nil // the name exists (TIMEOUT, TXT: NONE)
		}
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(z.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return z
}

func txtStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{txtEscape(v)}
	case []any:
		out := []string{}
		for _, x := range v {
			out = append(out, txtEscape(fmt.Sprint(x)))
		}
		return out
	}
	return []string{txtEscape(fmt.Sprint(v))}
}

func (z *suiteZone) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	z.mu.Lock()
	answer, rcode, drop := z.answer(strings.ToLower(q.Name), q.Qtype)
	z.mu.Unlock()
	if drop {
		return // the client times out
	}
	m.Answer, m.Rcode = answer, rcode
	_ = w.WriteMsg(m)
}

func (z *suiteZone) answer(name string, qtype uint16) (out []dns.RR, rcode int, drop bool) {
	seen := map[string]bool{}
	for {
		rrs, ok := z.rrs[name]
		if !ok {
			if len(out) > 0 {
				return out, dns.RcodeSuccess, false
			}
			return nil, dns.RcodeNameError, false
		}
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == qtype:
				out, found = append(out, rr), true
			case rr.Header().Rrtype == dns.TypeCNAME:
				cname = rr.(*dns.CNAME)
			}
		}
		if found || cname == nil {
			if !found && z.timeout[name] {
				return nil, 0, true
			}
			return out, dns.RcodeSuccess, false
		}
		out = append(out, cname)
		seen[name] = true
		name = strings.ToLower(cname.Target)
		if seen[name] {
			return nil, dns.RcodeServerFailure, false // CNAME loop
		}
	}
}
