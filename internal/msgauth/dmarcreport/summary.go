package dmarcreport

import (
	"context"
	"fmt"
	"sort"
	"time"

	"mailwarden/internal/sqldb"
)

// Counts are message counts of a group of report rows.
type Counts struct {
	Messages    int64
	DMARCPass   int64 // aligned DKIM or SPF passed
	DKIMPass    int64 // aligned DKIM passed
	SPFPass     int64 // aligned SPF passed
	Quarantined int64
	Rejected    int64
}

// PassRate is the share of messages that passed DMARC, 0 to 100.
func (c Counts) PassRate() float64 {
	if c.Messages == 0 {
		return 0
	}
	return 100 * float64(c.DMARCPass) / float64(c.Messages)
}

// Source is one reporting organization or one sending address.
type Source struct {
	Name    string
	Reports int // reporting organizations: how many reports
	Counts
}

// Summary is what the received reports say about one of our domains.
type Summary struct {
	Domain      string
	Reports     int
	First, Last time.Time // the span the reports cover
	Total       Counts
	Reporters   []Source // by messages, most first
	Addresses   []Source // source IPs, by messages, most first
}

// Summarize adds up the received reports about domain ("" for every
// domain, one Summary each), as `mailwarden dmarc reports` shows them.
func Summarize(ctx context.Context, db *sqldb.DB, domain string) ([]Summary, error) {
	q := `SELECT i.domain, i.org_name, i.report_id, i.date_begin, i.date_end, r.source_ip, r.count, r.disposition, r.dkim, r.spf
		FROM dmarc_report_in i LEFT JOIN dmarc_report_in_row r ON r.org_name = i.org_name AND r.report_id = i.report_id`
	var args []any
	if domain != "" {
		q += ` WHERE i.domain = ?`
		args = append(args, domain)
	}
	q += ` ORDER BY i.domain`
	rows, err := db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dmarc: read reports: %w", err)
	}
	defer rows.Close()
	type acc struct {
		s       Summary
		reports map[string]bool
		orgs    map[string]*Source
		orgRep  map[string]map[string]bool
		ips     map[string]*Source
	}
	byDomain := map[string]*acc{}
	var order []string
	for rows.Next() {
		var dom, org, id string
		var begin, end int64
		var ip, disp, dkim, spf *string
		var count *int64
		if err := rows.Scan(&dom, &org, &id, &begin, &end, &ip, &count, &disp, &dkim, &spf); err != nil {
			return nil, err
		}
		a := byDomain[dom]
		if a == nil {
			a = &acc{s: Summary{Domain: dom}, reports: map[string]bool{}, orgs: map[string]*Source{}, orgRep: map[string]map[string]bool{},
				ips: map[string]*Source{}}
			byDomain[dom] = a
			order = append(order, dom)
		}
		key := org + "\x00" + id
		if !a.reports[key] {
			a.reports[key] = true
			b, e := time.Unix(begin, 0).UTC(), time.Unix(end, 0).UTC()
			if a.s.First.IsZero() || b.Before(a.s.First) {
				a.s.First = b
			}
			if e.After(a.s.Last) {
				a.s.Last = e
			}
		}
		o := a.orgs[org]
		if o == nil {
			o = &Source{Name: org}
			a.orgs[org] = o
			a.orgRep[org] = map[string]bool{}
		}
		a.orgRep[org][id] = true
		if count == nil {
			continue // a report with no records
		}
		c := Counts{Messages: *count}
		if *dkim == "pass" {
			c.DKIMPass = *count
		}
		if *spf == "pass" {
			c.SPFPass = *count
		}
		if *dkim == "pass" || *spf == "pass" {
			c.DMARCPass = *count
		}
		switch *disp {
		case "quarantine":
			c.Quarantined = *count
		case "reject":
			c.Rejected = *count
		}
		o.Counts.add(c)
		a.s.Total.add(c)
		src := a.ips[*ip]
		if src == nil {
			src = &Source{Name: *ip}
			a.ips[*ip] = src
		}
		src.Counts.add(c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Summary
	for _, dom := range order {
		a := byDomain[dom]
		a.s.Reports = len(a.reports)
		for name, o := range a.orgs {
			o.Reports = len(a.orgRep[name])
			a.s.Reporters = append(a.s.Reporters, *o)
		}
		for _, s := range a.ips {
			a.s.Addresses = append(a.s.Addresses, *s)
		}
		sortSources(a.s.Reporters)
		sortSources(a.s.Addresses)
		out = append(out, a.s)
	}
	return out, nil
}

func (c *Counts) add(d Counts) {
	c.Messages += d.Messages
	c.DMARCPass += d.DMARCPass
	c.DKIMPass += d.DKIMPass
	c.SPFPass += d.SPFPass
	c.Quarantined += d.Quarantined
	c.Rejected += d.Rejected
}

func sortSources(s []Source) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Messages != s[j].Messages {
			return s[i].Messages > s[j].Messages
		}
		return s[i].Name < s[j].Name
	})
}
