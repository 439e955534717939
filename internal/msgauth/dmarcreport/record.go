package dmarcreport

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"mailwarden/internal/sqldb"
)

// DKIM is one signature's outcome as a report shows it.
type DKIM struct {
	Domain   string `json:"d"`
	Selector string `json:"s,omitempty"`
	Result   string `json:"r"`
}

// Reason is a policy override reason (RFC 7489 appendix C,
// PolicyOverrideReason): Type is forwarded, sampled_out,
// trusted_forwarder, mailing_list, local_policy or other.
type Reason struct {
	Type    string `json:"type"`
	Comment string `json:"comment,omitempty"`
}

// Row is what one evaluated message contributes to a report.
type Row struct {
	PolicyDomain string // where the policy record was found
	SourceIP     string
	HeaderFrom   string
	EnvelopeFrom string // domain of MAIL FROM ("" for a null sender)
	EnvelopeTo   string // domain of the first recipient
	SPFDomain    string
	SPFScope     string // "mfrom" or "helo"
	SPFResult    string // none, neutral, pass, fail, softfail, temperror, permerror
	DKIM         []DKIM
	DKIMAligned  string // "pass" or "fail" (policy_evaluated)
	SPFAligned   string
	Disposition  string // none, quarantine, reject: what was done
	Reasons      []Reason
	Policy       string // the DMARC record as published
}

// Store records results in a database.
type Store struct {
	DB *sqldb.DB
	// Interval is the span of one report period (a divisor of a day).
	Interval time.Duration
}

// Period returns the report period t falls in: its start and end (Unix
// seconds), aligned to the Unix epoch and so to UTC midnight.
func Period(t time.Time, interval time.Duration) (start, end int64) {
	iv := int64(interval / time.Second)
	if iv <= 0 {
		iv = 86400
	}
	s := t.Unix()
	start = s - ((s%iv)+iv)%iv
	return start, start + iv
}

func (r *Row) key(period int64) (string, string, string, error) {
	dkim, err := json.Marshal(r.DKIM)
	if err != nil {
		return "", "", "", err
	}
	reasons, err := json.Marshal(r.Reasons)
	if err != nil {
		return "", "", "", err
	}
	if r.DKIM == nil {
		dkim = []byte("[]")
	}
	if r.Reasons == nil {
		reasons = []byte("[]")
	}
	h := sha256.New()
	for _, s := range []string{fmt.Sprint(period), r.PolicyDomain, r.SourceIP, r.HeaderFrom, r.EnvelopeFrom, r.EnvelopeTo,
		r.SPFDomain, r.SPFScope, r.SPFResult, string(dkim), r.DKIMAligned, r.SPFAligned, r.Disposition, string(reasons), r.Policy} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), string(dkim), string(reasons), nil
}

// Record adds one message to its period's row (a new row or count+1),
// in a shared write transaction.
func (s *Store) Record(ctx context.Context, r Row, at time.Time) error {
	start, end := Period(at, s.Interval)
	key, dkim, reasons, err := r.key(start)
	if err != nil {
		return fmt.Errorf("dmarc: record: %w", err)
	}
	err = s.DB.Batch(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dmarc_result (rowkey, period, period_end, policy_domain, source_ip,
			header_from, envelope_from, envelope_to, spf_domain, spf_scope, spf_result, dkim, dkim_aligned, spf_aligned,
			disposition, reasons, policy, count, last_seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (rowkey) DO UPDATE SET count = dmarc_result.count + 1, last_seen = excluded.last_seen`,
			key, start, end, r.PolicyDomain, r.SourceIP, r.HeaderFrom, r.EnvelopeFrom, r.EnvelopeTo, r.SPFDomain, r.SPFScope,
			r.SPFResult, dkim, r.DKIMAligned, r.SPFAligned, r.Disposition, reasons, r.Policy, at.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("dmarc: record result for %s: %w", r.HeaderFrom, err)
	}
	return nil
}
