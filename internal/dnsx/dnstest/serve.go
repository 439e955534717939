package dnstest

import (
	"net"

	"github.com/miekg/dns"
)

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	k := key(q.Name)
	_, isUDP := w.RemoteAddr().(*net.UDPAddr)

	s.mu.Lock()
	s.queries[k]++
	drop := s.drop[k] && isUDP
	switch {
	case drop:
	case s.servfail[k]:
		m.Rcode = dns.RcodeServerFailure
	case s.truncate[k] && isUDP:
		m.Truncated = true
	default:
		m.Answer, m.Rcode = s.answer(k, q.Qtype)
		if len(m.Answer) == 0 {
			// RFC 2308 3: a negative answer carries the zone's SOA,
			// whose MINIMUM says how long it may be cached.
			m.Ns = []dns.RR{&dns.SOA{Hdr: hdr(zoneOf(q.Name), dns.TypeSOA), Ns: "ns.test.", Mbox: "hostmaster.test.",
				Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: TTL}}
		}
	}
	s.mu.Unlock()
	if drop {
		return
	}
	_ = w.WriteMsg(m)
}

// answer looks up name/qtype, following CNAMEs; s.mu is held.
func (s *Server) answer(name string, qtype uint16) ([]dns.RR, int) {
	var out []dns.RR
	for range 8 {
		rrs, ok := s.rrs[name]
		if !ok {
			if len(out) > 0 {
				return out, dns.RcodeSuccess // dangling alias: NODATA-ish
			}
			return nil, dns.RcodeNameError
		}
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == qtype:
				out, found = append(out, dns.Copy(rr)), true
			case rr.Header().Rrtype == dns.TypeCNAME:
				cname = rr.(*dns.CNAME)
			}
		}
		if cname == nil || qtype == dns.TypeCNAME || found {
			return out, dns.RcodeSuccess
		}
		out = append(out, dns.Copy(cname))
		name = key(cname.Target)
	}
	return nil, dns.RcodeServerFailure // CNAME loop
}

// zoneOf is the last label of name: the server pretends to be
// authoritative for every top-level domain.
func zoneOf(name string) string {
	labels := dns.SplitDomainName(name)
	if len(labels) == 0 {
		return "."
	}
	return labels[len(labels)-1] + "."
}
