package dmarcreport

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"path"
	"strings"
	"time"

	"mailwarden/internal/msgauth/dmarc"
	"mailwarden/internal/sqldb"
)

// Limits on what a stranger's report mail may make us read. The XML
// inside is bounded by dmarc.MaxReportXML however it is compressed, so
// a zip or gzip bomb stops there.
const (
	maxMessage     = 25 << 20 // a whole report message
	maxAttachment  = 20 << 20 // one compressed attachment, decoded
	maxParts       = 20       // MIME parts looked at in one message
	maxDepth       = 3        // multipart nesting
	maxZipEntries  = 16       // entries listed in one zip file
	maxReportsEach = 4        // reports taken from one message
)

// ErrNoReport means the input held no aggregate report.
var ErrNoReport = errors.New("dmarc: no aggregate report found (want XML, gzip or zip, alone or attached to a message)")

// Extract finds the aggregate reports in data: a report's XML, gzip or
// zip file, or a mail message carrying one or more of them as parts.
func Extract(data []byte) ([]*dmarc.Feedback, error) {
	if len(data) > maxMessage {
		return nil, fmt.Errorf("dmarc: input larger than %d bytes", maxMessage)
	}
	if f, err, ok := extractFile(data, ""); ok {
		if err != nil {
			return nil, err
		}
		return []*dmarc.Feedback{f}, nil
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, ErrNoReport
	}
	var out []*dmarc.Feedback
	var errs []error
	parts := 0
	walkParts(textprotoHeader(m.Header), m.Body, 0, &parts, func(body []byte, name string) {
		if len(out) == maxReportsEach {
			return
		}
		f, err, ok := extractFile(body, name)
		if !ok {
			return
		}
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, f)
	})
	if len(out) == 0 {
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return nil, ErrNoReport
	}
	return out, nil
}

type header interface{ Get(string) string }

type textprotoHeader mail.Header

func (h textprotoHeader) Get(k string) string { return mail.Header(h).Get(k) }

// walkParts calls fn with the decoded body and file name of every leaf
// part that may hold a report, depth first, within the limits.
func walkParts(h header, body io.Reader, depth int, parts *int, fn func([]byte, string)) {
	if *parts >= maxParts {
		return
	}
	*parts++
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ct = "text/plain"
	}
	if strings.HasPrefix(ct, "multipart/") {
		if depth >= maxDepth || params["boundary"] == "" {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walkParts(p.Header, p, depth+1, parts, fn)
			if *parts >= maxParts {
				return
			}
		}
	}
	name := ""
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		name = dp["filename"]
	}
	if name == "" {
		name = params["name"]
	}
	if !reportType(ct, name) {
		return
	}
	var r io.Reader = io.LimitReader(body, maxAttachment*2)
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &stripSpace{r: bufio.NewReader(r)})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxAttachment+1))
	if err != nil || len(data) > maxAttachment {
		return
	}
	fn(data, name)
}

// reportType says whether a part may be a report, by type or name.
func reportType(ct, name string) bool {
	switch ct {
	case "application/gzip", "application/x-gzip", "application/zip", "application/x-zip-compressed",
		"application/x-zip", "text/xml", "application/xml", "application/octet-stream":
		return true
	}
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".xml") || strings.HasSuffix(n, ".gz") || strings.HasSuffix(n, ".zip")
}

// stripSpace drops the line breaks of base64 text for the decoder.
type stripSpace struct{ r *bufio.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c, err := s.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if c == '\r' || c == '\n' || c == ' ' || c == '\t' {
			continue
		}
		p[n] = c
		n++
	}
	return n, nil
}

// extractFile reads data as a report file: gzip, zip or XML, by its
// first bytes. ok is false when data is none of these.
func extractFile(data []byte, name string) (f *dmarc.Feedback, err error, ok bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("dmarc: %s: gzip: %w", name, err), true
		}
		f, err := dmarc.ParseFeedback(zr)
		return f, err, true
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("dmarc: %s: zip: %w", name, err), true
		}
		for i, zf := range zr.File {
			if i == maxZipEntries {
				break
			}
			if !strings.EqualFold(path.Ext(zf.Name), ".xml") {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				return nil, fmt.Errorf("dmarc: %s: zip: %w", name, err), true
			}
			// ParseFeedback stops at dmarc.MaxReportXML, whatever the
			// entry claims its size to be.
			f, err := dmarc.ParseFeedback(rc)
			rc.Close()
			return f, err, true
		}
		return nil, fmt.Errorf("dmarc: %s: zip holds no .xml file", name), true
	}
	trim := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(trim, []byte("<?xml")) || bytes.HasPrefix(trim, []byte("<feedback")) {
		f, err := dmarc.ParseFeedback(bytes.NewReader(trim))
		return f, err, true
	}
	return nil, nil, false
}

// Save stores a received report; it reports false when the same
// reporter's report with that id was stored before.
func Save(ctx context.Context, db *sqldb.DB, f *dmarc.Feedback, now time.Time) (bool, error) {
	saved := false
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		m := f.Metadata
		res, err := tx.ExecContext(ctx, `INSERT INTO dmarc_report_in (org_name, report_id, email, domain, policy, date_begin, date_end, received)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_name, report_id) DO NOTHING`,
			clip(m.OrgName, 255), clip(m.ReportID, 255), clip(m.Email, 320), clip(f.Policy.Domain, 255), clip(f.Policy.P, 16),
			m.DateRange.Begin, m.DateRange.End, now.Unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		saved = true
		for i, r := range f.Records {
			auth, err := json.Marshal(r.AuthResults)
			if err != nil {
				return err
			}
			pe := r.Row.PolicyEvaluated
			if _, err := tx.ExecContext(ctx, `INSERT INTO dmarc_report_in_row (org_name, report_id, seq, source_ip, count, disposition,
				dkim, spf, header_from, auth) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				clip(m.OrgName, 255), clip(m.ReportID, 255), i, clip(r.Row.SourceIP, 64), r.Row.Count, clip(pe.Disposition, 16),
				clip(pe.DKIM, 8), clip(pe.SPF, 8), clip(r.Identifiers.HeaderFrom, 255), string(auth)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("dmarc: store report %s from %s: %w", f.Metadata.ReportID, f.Metadata.OrgName, err)
	}
	return saved, nil
}

// clip bounds a stranger's string to a column's size.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
