package dmarc

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Feedback is an aggregate report (RFC 7489 7.2, appendix C). The same
// types read the reports others send: element names match in any XML
// namespace, so DMARCbis reports (urn:ietf:params:xml:ns:dmarc-2.0) read
// too.
type Feedback struct {
	XMLName  xml.Name        `xml:"feedback"`
	Version  string          `xml:"version"`
	Metadata ReportMetadata  `xml:"report_metadata"`
	Policy   PolicyPublished `xml:"policy_published"`
	Records  []ReportRecord  `xml:"record"`
}

// ReportMetadata is who made the report and for what time.
type ReportMetadata struct {
	OrgName          string    `xml:"org_name"`
	Email            string    `xml:"email"`
	ExtraContactInfo string    `xml:"extra_contact_info,omitempty"`
	ReportID         string    `xml:"report_id"`
	DateRange        DateRange `xml:"date_range"`
	Errors           []string  `xml:"error,omitempty"`
}

// DateRange is the reported span in Unix seconds (UTC).
type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

// PolicyPublished is the DMARC record the report's messages were judged by.
type PolicyPublished struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    int    `xml:"pct"`
	FO     string `xml:"fo"`
}

// ReportRecord is one row of the report: a source and what it got.
type ReportRecord struct {
	Row         ReportRow   `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

// ReportRow is the source address, the message count and the policy
// evaluated for them.
type ReportRow struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int64           `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

// PolicyEvaluated is the disposition applied and the aligned results.
type PolicyEvaluated struct {
	Disposition string           `xml:"disposition"`
	DKIM        string           `xml:"dkim"`
	SPF         string           `xml:"spf"`
	Reasons     []OverrideReason `xml:"reason,omitempty"`
}

// OverrideReason says why the disposition differs from the policy.
type OverrideReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

// Identifiers are the domains of the envelope and the From field.
type Identifiers struct {
	EnvelopeTo   string `xml:"envelope_to,omitempty"`
	EnvelopeFrom string `xml:"envelope_from"`
	HeaderFrom   string `xml:"header_from"`
}

// AuthResults are the raw SPF and DKIM results.
type AuthResults struct {
	DKIM []DKIMAuthResult `xml:"dkim,omitempty"`
	SPF  []SPFAuthResult  `xml:"spf"`
}

// DKIMAuthResult is one signature's result.
type DKIMAuthResult struct {
	Domain      string `xml:"domain"`
	Selector    string `xml:"selector,omitempty"`
	Result      string `xml:"result"`
	HumanResult string `xml:"human_result,omitempty"`
}

// SPFAuthResult is the SPF result of one identity.
type SPFAuthResult struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope,omitempty"`
	Result string `xml:"result"`
}

// PolicyPublishedFrom describes a record as a report shows it.
func PolicyPublishedFrom(domain string, r *Record) PolicyPublished {
	return PolicyPublished{Domain: domain, ADKIM: r.ADKIM.String(), ASPF: r.ASPF.String(), P: string(r.Policy),
		SP: string(r.SubPolicy), Pct: r.Pct, FO: r.FO}
}

// ReportIP writes a source address as the report schema's IPAddress
// pattern accepts it: IPv4 dotted, IPv6 with all eight groups.
func ReportIP(s string) string {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	return ip.WithZone("").StringExpanded()
}

// Marshal writes the report as an XML document.
func (f *Feedback) Marshal() ([]byte, error) {
	if f.Version == "" {
		f.Version = "1.0"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("dmarc: report: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Gzip compresses a report for sending (RFC 7489 7.2.1.1: gzip is the
// compression every receiver of reports reads).
func Gzip(doc []byte, name string) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.Name = name
	if _, err := zw.Write(doc); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Filename is the name of a report file (RFC 7489 7.2.1.1):
// receiver "!" policy-domain "!" begin "!" end [ "!" unique-id ] "." ext.
func Filename(receiver, policyDomain string, begin, end int64, uniqueID, ext string) string {
	name := receiver + "!" + policyDomain + "!" + strconv.FormatInt(begin, 10) + "!" + strconv.FormatInt(end, 10)
	if uniqueID != "" {
		name += "!" + uniqueID
	}
	return name + "." + ext
}

// Limits on reports read from strangers.
const (
	// MaxReportXML bounds the uncompressed XML of one report.
	MaxReportXML = 32 << 20
	// MaxReportRecords bounds the records of one report.
	MaxReportRecords = 200000
)

// ParseFeedback reads an aggregate report's XML, at most MaxReportXML
// bytes of it, and checks that it says what a report must.
func ParseFeedback(r io.Reader) (*Feedback, error) {
	lr := &io.LimitedReader{R: r, N: MaxReportXML + 1}
	dec := xml.NewDecoder(lr)
	dec.Strict = true
	dec.Entity = nil // no entities beyond XML's five: nothing to expand
	var f Feedback
	if err := dec.Decode(&f); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("dmarc: report larger than %d bytes", MaxReportXML)
		}
		return nil, fmt.Errorf("dmarc: report: %w", err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("dmarc: report larger than %d bytes", MaxReportXML)
	}
	if len(f.Records) > MaxReportRecords {
		return nil, fmt.Errorf("dmarc: report has more than %d records", MaxReportRecords)
	}
	m := &f.Metadata
	m.OrgName, m.ReportID = strings.TrimSpace(m.OrgName), strings.TrimSpace(m.ReportID)
	f.Policy.Domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Policy.Domain), "."))
	switch {
	case m.OrgName == "":
		return nil, fmt.Errorf("dmarc: report has no org_name")
	case m.ReportID == "":
		return nil, fmt.Errorf("dmarc: report has no report_id")
	case f.Policy.Domain == "":
		return nil, fmt.Errorf("dmarc: report has no policy_published domain")
	case m.DateRange.End < m.DateRange.Begin:
		return nil, fmt.Errorf("dmarc: report's date_range ends before it begins")
	}
	for i, rec := range f.Records {
		if rec.Row.Count < 0 {
			return nil, fmt.Errorf("dmarc: report record %d: negative count", i+1)
		}
	}
	return &f, nil
}
