package policy

import (
	"context"
	"net/netip"
	"testing"

	"mailwarden/internal/directory"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/envelope"
)

// BenchmarkRcptDNSBL is the RCPT-stage time of a 10-entry restriction
// list with 3 DNSBLs against the hermetic DNS server over loopback: cold
// (every client a new address: 3 queries each) and cached (the same
// client again: no query); no_lists is the same list with the three
// DNSBL entries replaced by dunno, the base the others add to.
func BenchmarkRcptDNSBL(b *testing.B) {
	zone := dnstest.New(b, "")
	list := []string{"permit_mynetworks", "reject_non_fqdn_helo_hostname", "reject_invalid_helo_hostname", "reject_non_fqdn_sender",
		"reject_non_fqdn_recipient", "reject_unauth_destination", "reject_rbl_client zen.example=127.0.0.[2..11]",
		"reject_rbl_client bl.example", "reject_rbl_client dnsbl.example", "permit"}
	local := &directory.Resolution{Class: directory.Virtual, Destinations: []directory.Destination{{Kind: directory.Local}}}
	run := func(b *testing.B, ip func(i int) netip.Addr) {
		list := list
		if b.Name() == "BenchmarkRcptDNSBL/no_lists" {
			list = append(append(list[:6:6], "dunno", "dunno", "dunno"), list[9:]...)
		}
		ls, err := Build("smtp", restrictionsConfig(map[string][]string{"recipient": list}, nil), Deps{DNS: zone.Resolver()})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		env := &envelope.Envelope{ClientHost: "unknown", Helo: "mail.client.example"}
		r := &Request{Stage: Rcpt, Env: env, Sender: "s@client.example", Recipient: "a@here.example", Resolution: local}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			env.ClientIP = ip(i)
			if d := ls.AtRcpt(ctx, r); d.Refused() {
				b.Fatal(d.Reply())
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/rcpt")
	}
	newIP := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	b.Run("no_lists", func(b *testing.B) { run(b, newIP) })
	b.Run("cold", func(b *testing.B) {
		run(b, newIP)
	})
	b.Run("cached", func(b *testing.B) {
		run(b, func(int) netip.Addr { return netip.MustParseAddr("10.0.0.1") })
	})
}
