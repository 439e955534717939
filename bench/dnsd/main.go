// Command dnsd is a tiny authoritative DNS server for benchmarks: it
// answers from a zone given in master-file syntax (one record per line)
// and says NXDOMAIN for every other name, so DNS-using restrictions can be
// measured on loopback without the network.
//
//	dnsd -listen 127.0.0.53:53 -zone zone.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/miekg/dns"
)

func main() {
	listen := flag.String("listen", "127.0.0.53:53", "UDP and TCP address to serve on")
	zone := flag.String("zone", "", "file of records in master-file syntax")
	flag.Parse()
	rrs, err := load(*zone)
	if err != nil {
		log.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		if len(q.Question) == 1 {
			name := strings.ToLower(q.Question[0].Name)
			all, ok := rrs[name]
			if !ok {
				m.Rcode = dns.RcodeNameError
			}
			for _, rr := range all {
				if rr.Header().Rrtype == q.Question[0].Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		w.WriteMsg(m)
	})
	errc := make(chan error, 2)
	for _, netw := range []string{"udp", "tcp"} {
		srv := &dns.Server{Addr: *listen, Net: netw, Handler: h}
		go func() { errc <- srv.ListenAndServe() }()
	}
	log.Fatal(<-errc)
}

// load reads the zone: blank lines and ";" comments are skipped.
func load(path string) (map[string][]dns.RR, error) {
	rrs := map[string][]dns.RR{}
	if path == "" {
		return rrs, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		name := strings.ToLower(rr.Header().Name)
		rrs[name] = append(rrs[name], rr)
	}
	return rrs, sc.Err()
}
