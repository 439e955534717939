package dmarcreport

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth/dmarc"
	"mailwarden/internal/queue"
	"mailwarden/internal/sqldb"
)

// Sender sends the aggregate reports of finished periods.
type Sender struct {
	DB     *sqldb.DB
	Queue  *queue.Queue // must live in DB
	DNS    dnsx.Resolver
	Config func() *config.Config
	// Route tells the queue how to reach an address (queue.KindLocal or
	// KindRemote); nil: remote.
	Route func(ctx context.Context, addr string) (string, error)
	Log   *slog.Logger
	Now   func() time.Time // nil: time.Now
	// Node names this process in the claims ("host[pid]").
	Node string
}

// maxRecords bounds the records of one report we send; more rows are
// left out and the report says so in an <error>.
const maxRecords = 50000

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run sends due reports until ctx ends: at once, then every poll.
func (s *Sender) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("dmarc: reports: " + err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll is how often serve looks for finished periods: a tenth of the
// report interval, between a second and five minutes.
func Poll(interval time.Duration) time.Duration {
	return min(max(interval/10, time.Second), 5*time.Minute)
}

type due struct {
	domain      string
	period, end int64
}

// SendDue sends the report of every policy domain and finished period
// that has none yet, and forgets results and reports older than
// keep_days. It returns how many reports it queued.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	cfg := s.Config()
	now := s.now()
	if err := s.prune(ctx, cfg, now); err != nil {
		return 0, err
	}
	if !cfg.DMARC.SendReports {
		return 0, nil
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT r.policy_domain, r.period, MAX(r.period_end) FROM dmarc_result r
		WHERE r.period_end <= ? AND NOT EXISTS (SELECT 1 FROM dmarc_report_sent s
			WHERE s.policy_domain = r.policy_domain AND s.period = r.period)
		GROUP BY r.policy_domain, r.period ORDER BY r.period, r.policy_domain`, now.Unix())
	if err != nil {
		return 0, fmt.Errorf("dmarc: find finished periods: %w", err)
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.domain, &d.period, &d.end); err != nil {
			rows.Close()
			return 0, err
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, d := range list {
		ok, err := s.sendOne(ctx, cfg, d, now)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

func (s *Sender) prune(ctx context.Context, cfg *config.Config, now time.Time) error {
	cut := now.Add(-time.Duration(cfg.DMARC.KeepDays) * 24 * time.Hour).Unix()
	return s.DB.Batch(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM dmarc_result WHERE period_end < ?`,
			`DELETE FROM dmarc_report_sent WHERE period < ?`,
			`DELETE FROM dmarc_report_in_row WHERE EXISTS (SELECT 1 FROM dmarc_report_in i WHERE i.org_name = dmarc_report_in_row.org_name
				AND i.report_id = dmarc_report_in_row.report_id AND i.date_end < ?)`,
			`DELETE FROM dmarc_report_in WHERE date_end < ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, cut); err != nil {
				return fmt.Errorf("dmarc: prune: %w", err)
			}
		}
		return nil
	})
}

// Build makes the report of one policy domain from the results recorded
// in the periods starting from begin up to (not including) end, and
// returns it with the record as last published.
func Build(ctx context.Context, db *sqldb.DB, cfg *config.Config, domain string, begin, end int64) (*dmarc.Feedback, *dmarc.Record, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT period_end, source_ip, header_from, envelope_from, envelope_to, spf_domain, spf_scope,
		spf_result, dkim, dkim_aligned, spf_aligned, disposition, reasons, policy, count, last_seen
		FROM dmarc_result WHERE policy_domain = ? AND period >= ? AND period < ? ORDER BY source_ip, header_from, rowkey`, domain, begin, end)
	if err != nil {
		return nil, nil, fmt.Errorf("dmarc: report for %s: %w", domain, err)
	}
	defer rows.Close()
	f := &dmarc.Feedback{Version: "1.0", Metadata: dmarc.ReportMetadata{OrgName: cfg.DMARCReportOrg(), Email: cfg.DMARCReportFrom(),
		ReportID: fmt.Sprintf("%d.%s@%s", begin, domain, cfg.Hostname), DateRange: dmarc.DateRange{Begin: begin}}}
	var policy string
	var newest int64
	left := 0
	for rows.Next() {
		var end, count, seen int64
		var ip, hfrom, efrom, eto, spfDom, spfScope, spfRes, dkimJSON, dkimAl, spfAl, disp, reasonsJSON, pol string
		if err := rows.Scan(&end, &ip, &hfrom, &efrom, &eto, &spfDom, &spfScope, &spfRes, &dkimJSON, &dkimAl, &spfAl, &disp,
			&reasonsJSON, &pol, &count, &seen); err != nil {
			return nil, nil, err
		}
		f.Metadata.DateRange.End = max(f.Metadata.DateRange.End, end-1)
		if seen >= newest {
			newest, policy = seen, pol
		}
		if len(f.Records) == maxRecords {
			left++
			continue
		}
		var dk []DKIM
		var rs []Reason
		if err := json.Unmarshal([]byte(dkimJSON), &dk); err != nil {
			return nil, nil, fmt.Errorf("dmarc: stored DKIM results: %w", err)
		}
		if err := json.Unmarshal([]byte(reasonsJSON), &rs); err != nil {
			return nil, nil, fmt.Errorf("dmarc: stored reasons: %w", err)
		}
		rec := dmarc.ReportRecord{
			Row: dmarc.ReportRow{SourceIP: dmarc.ReportIP(ip), Count: count,
				PolicyEvaluated: dmarc.PolicyEvaluated{Disposition: disp, DKIM: dkimAl, SPF: spfAl}},
			Identifiers: dmarc.Identifiers{EnvelopeTo: eto, EnvelopeFrom: efrom, HeaderFrom: hfrom},
		}
		for _, r := range rs {
			rec.Row.PolicyEvaluated.Reasons = append(rec.Row.PolicyEvaluated.Reasons, dmarc.OverrideReason{Type: r.Type, Comment: r.Comment})
		}
		for _, d := range dk {
			rec.AuthResults.DKIM = append(rec.AuthResults.DKIM, dmarc.DKIMAuthResult{Domain: d.Domain, Selector: d.Selector, Result: d.Result})
		}
		// The schema wants one SPF result at least: with none checked
		// (no SPF verdict on the message) it is "none" for the MAIL
		// FROM domain.
		spf := dmarc.SPFAuthResult{Domain: spfDom, Scope: spfScope, Result: spfRes}
		if spf.Domain == "" {
			spf.Domain, spf.Scope, spf.Result = efrom, "mfrom", "none"
		}
		rec.AuthResults.SPF = []dmarc.SPFAuthResult{spf}
		f.Records = append(f.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(f.Records) == 0 {
		return nil, nil, fmt.Errorf("dmarc: no results recorded for %s in that period", domain)
	}
	if left > 0 {
		f.Metadata.Errors = append(f.Metadata.Errors, fmt.Sprintf("%d records left out (more than %d)", left, maxRecords))
	}
	rec, err := dmarc.ParseRecord(policy)
	if err != nil {
		return nil, nil, fmt.Errorf("dmarc: stored policy of %s: %w", domain, err)
	}
	f.Policy = dmarc.PolicyPublishedFrom(domain, rec)
	return f, rec, nil
}

// sendOne sends one report: it claims the (domain, period) row and
// queues the message in one transaction, so that of several nodes only
// one sends it. A claim with no message means no rua address could take
// the report (recorded in note); a temporary DNS failure leaves it
// unclaimed for the next round.
func (s *Sender) sendOne(ctx context.Context, cfg *config.Config, d due, now time.Time) (bool, error) {
	f, rec, err := Build(ctx, s.DB, cfg, d.domain, d.period, d.period+1)
	if err != nil {
		return false, err
	}
	doc, err := f.Marshal()
	if err != nil {
		return false, err
	}
	name := dmarc.Filename(cfg.Hostname, d.domain, f.Metadata.DateRange.Begin, f.Metadata.DateRange.End, "", "xml.gz")
	gz, err := dmarc.Gzip(doc, strings.TrimSuffix(name, ".gz"))
	if err != nil {
		return false, err
	}
	to, notes, err := s.destinations(ctx, d.domain, rec, int64(len(gz)))
	if err != nil {
		return false, err // temporary: try again next round
	}
	var pending *queue.Pending
	env := &envelope.Envelope{ID: envelope.NewID(), From: "", Received: now}
	if len(to) > 0 {
		msg, err := reportMessage(cfg, f, name, gz, to, now)
		if err != nil {
			return false, err
		}
		var rcpts []queue.Rcpt
		for _, a := range to {
			kind := queue.KindRemote
			if s.Route != nil {
				if kind, err = s.Route(ctx, a); err != nil {
					return false, fmt.Errorf("dmarc: report for %s to <%s>: %w", d.domain, a, err)
				}
			}
			rcpts = append(rcpts, queue.Rcpt{Address: a, Kind: kind})
		}
		if pending, err = s.Queue.Prepare(ctx, env, nil, bytesBody(msg), rcpts); err != nil {
			return false, err
		}
	}
	queueID := ""
	if pending != nil {
		queueID = env.ID
	}
	claimed := false
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO dmarc_report_sent (policy_domain, period, node, sent, report_id, queue_id, note)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (policy_domain, period) DO NOTHING`,
			d.domain, d.period, s.Node, now.Unix(), f.Metadata.ReportID, queueID, strings.Join(notes, "; "))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another node sent it
		}
		claimed = true
		if pending != nil {
			return pending.Insert(ctx, tx)
		}
		return nil
	})
	if err != nil || !claimed {
		if pending != nil {
			pending.Abort()
		}
		if err != nil {
			return false, fmt.Errorf("dmarc: claim report for %s: %w", d.domain, err)
		}
		return false, nil
	}
	if pending == nil {
		s.log().Warn(fmt.Sprintf("dmarc: aggregate report for %s (%d records) not sent: %s", d.domain, len(f.Records), strings.Join(notes, "; ")))
		return false, nil
	}
	pending.Committed()
	line := fmt.Sprintf("%s: dmarc: aggregate report for %s, %d records, %d bytes, to=<%s>", env.ID, d.domain, len(f.Records), len(gz), strings.Join(to, ">,<"))
	if len(notes) > 0 {
		line += " (" + strings.Join(notes, "; ") + ")"
	}
	s.log().Info(line)
	return true, nil
}

// destinations are the rua mailto: addresses that may receive a report
// of size bytes (RFC 7489 7.1, 7.2.1.1): an address outside the policy
// domain's organizational domain must be authorized by a v=DMARC1 record
// at <policy-domain>._report._dmarc.<its domain>, and a size limit
// (!10m) smaller than the report leaves that address out. notes say
// what was left out and why.
func (s *Sender) destinations(ctx context.Context, domain string, rec *dmarc.Record, size int64) (to, notes []string, err error) {
	if s.DNS == nil {
		return nil, nil, errors.New("dmarc: no resolver for the external destination check")
	}
	seen := map[string]bool{}
	orgs := dmarc.New(s.DNS, 64)
	orgs.Org, _ = dmarc.ParseOrgMode(s.Config().DMARC.OrgDomain)
	orgDomain, err := orgs.OrgDomain(ctx, domain)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range rec.RUA {
		if u.Address == "" {
			notes = append(notes, u.URI+": not a mailto: URI")
			continue
		}
		host := u.Domain()
		uris := []dmarc.URI{u}
		orgHost, err := orgs.OrgDomain(ctx, host)
		if err != nil {
			return nil, nil, err
		}
		if orgHost != orgDomain {
			ok, over, err := s.authorized(ctx, domain, host)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				notes = append(notes, u.Address+": "+host+" does not authorize reports about "+domain+" (no "+domain+"._report._dmarc."+host+" record)")
				continue
			}
			if len(over) > 0 {
				uris = over
			}
		}
		for _, u := range uris {
			a := strings.ToLower(u.Address)
			switch {
			case u.MaxSize > 0 && size > u.MaxSize:
				notes = append(notes, fmt.Sprintf("%s: report of %d bytes is over its limit of %d", u.Address, size, u.MaxSize))
			case !seen[a]:
				seen[a] = true
				to = append(to, u.Address)
			}
		}
	}
	return to, notes, nil
}

// authorized looks up the external destination record (RFC 7489 7.1):
// ok when a v=DMARC1 record exists; over are the rua URIs it names at
// the same host, which replace the domain's (step 8).
func (s *Sender) authorized(ctx context.Context, domain, host string) (ok bool, over []dmarc.URI, err error) {
	if s.DNS == nil {
		return false, nil, errors.New("dmarc: no resolver for the external destination check")
	}
	txt, err := s.DNS.LookupTXT(ctx, domain+"._report._dmarc."+host)
	if errors.Is(err, dnsx.ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, fmt.Errorf("dmarc: external destination %s for %s: %w", host, domain, err)
	}
	for _, t := range txt {
		if !dmarc.IsRecord(t) {
			continue
		}
		ok = true
		// The record needs no p=; only its rua= matters here (and a
		// record with rua= and no p= parses as p=none).
		if r, err := dmarc.ParseRecord(t); err == nil {
			for _, u := range r.RUA {
				// Step 8: only URIs at the same host may replace ours.
				if strings.EqualFold(u.Domain(), host) {
					over = append(over, u)
				}
			}
		}
	}
	return ok, over, nil
}

type bytesBody []byte

func (b bytesBody) Reader() io.Reader { return bytes.NewReader(b) }
func (b bytesBody) Size() int64       { return int64(len(b)) }

// reportMessage writes the report mail (RFC 7489 7.2.1.1): a text part
// and the gzipped XML as an application/gzip attachment, with the
// Subject the RFC gives.
func reportMessage(cfg *config.Config, f *dmarc.Feedback, name string, gz []byte, to []string, now time.Time) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	th := textproto.MIMEHeader{}
	th.Set("Content-Type", "text/plain; charset=us-ascii")
	th.Set("Content-Transfer-Encoding", "7bit")
	pw, err := mw.CreatePart(th)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(pw, "This is a DMARC aggregate report (RFC 7489) from %s for %s,\r\ncovering %s to %s UTC: %d records.\r\n",
		f.Metadata.OrgName, f.Policy.Domain, time.Unix(f.Metadata.DateRange.Begin, 0).UTC().Format(time.DateTime),
		time.Unix(f.Metadata.DateRange.End, 0).UTC().Format(time.DateTime), len(f.Records))
	ah := textproto.MIMEHeader{}
	ah.Set("Content-Type", mime.FormatMediaType("application/gzip", map[string]string{"name": name}))
	ah.Set("Content-Transfer-Encoding", "base64")
	ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	aw, err := mw.CreatePart(ah)
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		fmt.Fprintf(aw, "%s\r\n", enc[:76])
		enc = enc[76:]
	}
	fmt.Fprintf(aw, "%s\r\n", enc)
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var m bytes.Buffer
	from := cfg.DMARCReportFrom()
	fmt.Fprintf(&m, "From: %s\r\n", from)
	fmt.Fprintf(&m, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&m, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n", f.Policy.Domain, f.Metadata.OrgName, f.Metadata.ReportID)
	fmt.Fprintf(&m, "Date: %s\r\n", now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&m, "Message-ID: <%s.%d@%s>\r\n", strings.ReplaceAll(f.Metadata.ReportID, "@", "."), now.UnixNano(), cfg.Hostname)
	m.WriteString("Auto-Submitted: auto-generated\r\n")
	m.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(&m, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	m.Write(body.Bytes())
	return m.Bytes(), nil
}
