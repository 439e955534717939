package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"mailwarden/internal/dnsx"
	"mailwarden/internal/msgauth/dkim"
	"mailwarden/internal/msgauth/dnsrec"
	"mailwarden/internal/msgauth/spf"
)

// dkimRecords are the domain's DKIM keys that belong in DNS now: those
// published ahead of use, the active ones and the retired ones mail in
// flight may still need (the dkim key store's states).
func dkimRecords(ctx context.Context, e *env, domain string) ([]dnsrec.DKIMKey, error) {
	now := time.Now()
	keys, err := dkim.NewStore(e.db, time.Now).List(ctx, domain)
	if err != nil {
		return nil, err
	}
	var out []dnsrec.DKIMKey
	for _, k := range keys {
		st := k.StateAt(now)
		if st == dkim.Deleted {
			continue
		}
		out = append(out, dnsrec.DKIMKey{Selector: k.Selector, Value: k.Record(), State: string(st)})
	}
	return out, nil
}

// dmarcReportAddress is the rua= our DMARC record names: [dmarc]
// report_mailbox, "" when none is set.
func dmarcReportAddress(e *env, _ string) string { return e.cfg.DMARC.ReportMailbox }

// dnsRecords is `mailwarden dns DOMAIN [--check]`: the records the domain
// should publish, in zone-file syntax; --check compares them with live
// DNS (through [dns] resolvers) and exits 1 when one is wrong.
func (c *cli) dnsRecords(args []string) error {
	fs := flag.NewFlagSet("dns", flag.ContinueOnError)
	check := fs.Bool("check", false, "compare with what DNS answers now; exit 1 when a record is missing or wrong")
	ctx := context.Background()
	pos, e, err := c.parseOpen(ctx, fs, args)
	if err != nil {
		return err
	}
	defer e.close()
	if err := need(pos, 1, "dns DOMAIN [--check]"); err != nil {
		return err
	}
	domain := strings.ToLower(strings.TrimSuffix(pos[0], "."))
	keys, err := dkimRecords(ctx, e, domain)
	if err != nil {
		return err
	}
	in := dnsrec.Input{Domain: domain, Hostname: e.cfg.Hostname, DKIM: keys, DMARCReport: dmarcReportAddress(e, domain)}
	rs := dnsrec.Records(in)
	if !*check {
		if len(keys) == 0 {
			fmt.Fprintf(c.stdout, "; no DKIM key for %s yet: mailwarden dkim keygen %s\n", domain, domain)
		}
		return dnsrec.WriteZone(c.stdout, rs)
	}
	r, err := dnsx.New(e.cfg.DNS.Resolvers, e.cfg.DNS.Timeout.D())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bad := 0
	if len(keys) == 0 {
		fmt.Fprintf(c.stdout, "DKIM     MISSING  no key for %s: mailwarden dkim keygen %s\n", domain, domain)
		bad++
	}
	var sc *spf.Checker
	if rr, ok := r.(dnsx.RRLookup); ok {
		sc = &spf.Checker{DNS: rr, Receiver: e.cfg.Hostname}
	}
	for _, st := range dnsrec.Check(ctx, r, rs, e.cfg.Hostname, sc) {
		word := "ok"
		switch {
		case !st.OK && st.Placeholder:
			word = "optional"
		case !st.OK:
			word = "WRONG"
			bad++
		}
		fmt.Fprintf(c.stdout, "%-8s %-8s %s %s", st.Kind, word, st.Name, st.Type)
		if st.Problem != "" {
			fmt.Fprintf(c.stdout, ": %s", st.Problem)
		}
		fmt.Fprintln(c.stdout)
		if !st.OK && !st.Placeholder {
			fmt.Fprintf(c.stdout, "         publish: %s IN %s %s\n", st.Name, st.Type, strings.Join(dnsrec.SplitTXTIf(st.Record), " "))
			for _, p := range st.Published {
				fmt.Fprintf(c.stdout, "         found:   %s\n", p)
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("dns: %d record(s) of %s missing or wrong", bad, domain)
	}
	return nil
}
