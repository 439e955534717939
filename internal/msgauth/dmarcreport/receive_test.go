package dmarcreport

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/msgauth/dmarc"
)

func sampleFeedback(id string) *dmarc.Feedback {
	rec := func(ip string, n int64, dkim, spf, disp string) dmarc.ReportRecord {
		return dmarc.ReportRecord{Row: dmarc.ReportRow{SourceIP: ip, Count: n, PolicyEvaluated: dmarc.PolicyEvaluated{Disposition: disp, DKIM: dkim, SPF: spf}},
			Identifiers: dmarc.Identifiers{HeaderFrom: "ours.test", EnvelopeFrom: "ours.test"},
			AuthResults: dmarc.AuthResults{SPF: []dmarc.SPFAuthResult{{Domain: "ours.test", Scope: "mfrom", Result: spf}}}}
	}
	return &dmarc.Feedback{Metadata: dmarc.ReportMetadata{OrgName: "big.example", Email: "r@big.example", ReportID: id,
		DateRange: dmarc.DateRange{Begin: 1000, End: 2000}},
		Policy:  dmarc.PolicyPublished{Domain: "ours.test", P: "reject", SP: "reject", Pct: 100, FO: "0"},
		Records: []dmarc.ReportRecord{rec("192.0.2.1", 90, "pass", "pass", "none"), rec("198.51.100.7", 10, "fail", "fail", "reject")}}
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zipped(t *testing.T, name string, b []byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create(name)
	f.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestExtract(t *testing.T) {
	doc, err := sampleFeedback("r1").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	msg, err := reportMessage(e.cfg, sampleFeedback("r1"), "x!ours.test!1000!1999.xml.gz", gz(t, doc), []string{"dmarc@ours.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	zipMsg := "From: r@big.example\r\nTo: dmarc@ours.test\r\nSubject: report\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: application/zip; name=\"big.example!ours.test!1000!1999.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64Lines(zipped(t, "report.xml", doc))
	namespaced := strings.Replace(string(doc), "<feedback>", `<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">`, 1)
	for name, in := range map[string][]byte{
		"xml": doc, "gzip": gz(t, doc), "zip": zipped(t, "a!b!1!2.xml", doc), "message": msg, "zip message": []byte(zipMsg),
		"DMARCbis namespace": []byte(namespaced),
	} {
		fs, err := Extract(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(fs) != 1 || fs[0].Metadata.ReportID != "r1" || len(fs[0].Records) != 2 || fs[0].Records[0].Row.Count != 90 {
			t.Errorf("%s: %+v", name, fs)
		}
	}
	for name, in := range map[string][]byte{
		"plain mail": []byte("From: a@b\r\nSubject: hi\r\n\r\nhello\r\n"),
		"garbage":    []byte("\x00\x01\x02"),
	} {
		if _, err := Extract(in); !errors.Is(err, ErrNoReport) {
			t.Errorf("%s: %v, want ErrNoReport", name, err)
		}
	}
	for name, in := range map[string][]byte{
		"bad xml":         []byte("<?xml version=\"1.0\"?><feedback><report_metadata>"),
		"no report_id":    []byte("<feedback><report_metadata><org_name>x</org_name></report_metadata><policy_published><domain>d</domain></policy_published></feedback>"),
		"entity":          []byte(`<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaa">]><feedback><report_metadata><org_name>&a;</org_name></report_metadata></feedback>`),
		"zip without xml": zipped(t, "report.txt", doc),
	} {
		if _, err := Extract(in); err == nil || errors.Is(err, ErrNoReport) {
			t.Errorf("%s: %v, want a parse error", name, err)
		}
	}
}

// Bombs: whatever the compressed size, no more than dmarc.MaxReportXML
// bytes are read.
func TestExtractBombs(t *testing.T) {
	big := append([]byte("<?xml version=\"1.0\"?><feedback><report_metadata><org_name>"), bytes.Repeat([]byte("a"), dmarc.MaxReportXML+10)...)
	for name, in := range map[string][]byte{"gzip": gz(t, big), "zip": zipped(t, "r.xml", big)} {
		if len(in) > 1<<20 {
			t.Fatalf("%s: the bomb is %d bytes compressed", name, len(in))
		}
		_, err := Extract(in)
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSaveAndSummarize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, id := range []string{"r1", "r2", "r1"} {
		Save(ctx, e.db, sampleFeedback(id), time.Unix(3000, 0))
	}
	other := sampleFeedback("x1")
	other.Metadata.OrgName = "small.example"
	other.Records = other.Records[1:]
	Save(ctx, e.db, other, time.Unix(3000, 0))
	sums, err := Summarize(ctx, e.db, "ours.test")
	if err != nil || len(sums) != 1 {
		t.Fatalf("%v %v", sums, err)
	}
	s := sums[0]
	if s.Reports != 3 || s.Total.Messages != 210 || s.Total.DMARCPass != 180 || s.Total.Rejected != 30 {
		t.Errorf("totals %+v", s)
	}
	if len(s.Reporters) != 2 || s.Reporters[0].Name != "big.example" || s.Reporters[0].Reports != 2 || s.Reporters[0].Messages != 200 {
		t.Errorf("reporters %+v", s.Reporters)
	}
	if len(s.Addresses) != 2 || s.Addresses[0].Name != "192.0.2.1" || s.Addresses[0].PassRate() != 100 || s.Addresses[1].PassRate() != 0 {
		t.Errorf("addresses %+v", s.Addresses)
	}
	if sums, _ := Summarize(ctx, e.db, "nothing.test"); len(sums) != 0 {
		t.Errorf("other domain: %+v", sums)
	}
}

type memBox struct {
	validity int64
	msgs     map[int64][]byte
}

func (m *memBox) UIDs(context.Context) (int64, []int64, error) {
	var uids []int64
	for u := range int64(10) {
		if _, ok := m.msgs[u]; ok {
			uids = append(uids, u)
		}
	}
	return m.validity, uids, nil
}

func (m *memBox) Open(_ context.Context, uid int64) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(m.msgs[uid])), nil
}

func TestScan(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doc, _ := sampleFeedback("r1").Marshal()
	doc2, _ := sampleFeedback("r2").Marshal()
	box := &memBox{validity: 7, msgs: map[int64][]byte{1: []byte("From: a@b\r\n\r\nnot a report\r\n"), 2: gz(t, doc)}}
	log := discardLog()
	if n, err := Scan(ctx, e.db, "dmarc@ours.test", box, log, time.Now()); n != 1 || err != nil {
		t.Fatalf("first scan: %d %v", n, err)
	}
	box.msgs[3] = doc2
	if n, err := Scan(ctx, e.db, "dmarc@ours.test", box, log, time.Now()); n != 1 || err != nil {
		t.Fatalf("second scan: %d %v", n, err)
	}
	if n, _ := Scan(ctx, e.db, "dmarc@ours.test", box, log, time.Now()); n != 0 {
		t.Fatalf("third scan stored %d", n)
	}
}
