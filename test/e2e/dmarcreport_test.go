package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reportAttachments returns the gzip-compressed XML attachments of the
// DMARC report messages in a mailbox's INBOX whose Subject names
// domain, uncompressed, with their file names.
func reportAttachments(t *testing.T, s *server, addr, domain string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range s.inbox(addr) {
		m, err := mail.ReadMessage(bytes.NewReader(f.Data))
		if err != nil || !strings.Contains(m.Header.Get("Subject"), "Report Domain: "+domain+" ") {
			continue
		}
		_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("report %s: %v", f.Rel, err)
		}
		mr := multipart.NewReader(m.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.Header.Get("Content-Type") == "" || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/gzip") {
				continue
			}
			var body io.Reader = p
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
				body = base64.NewDecoder(base64.StdEncoding, p)
			}
			zr, err := gzip.NewReader(body)
			if err != nil {
				t.Fatalf("report %s: %v", f.Rel, err)
			}
			doc, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("report %s: %v", f.Rel, err)
			}
			out[p.FileName()] = doc
		}
	}
	return out
}

// xmllintSchema validates doc against the RFC 7489 schema.
func xmllintSchema(t *testing.T, dir, name string, doc []byte) {
	t.Helper()
	requireTool(t, "xmllint")
	path := filepath.Join(dir, strings.NewReplacer("!", "_", "/", "_").Replace(name))
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	xsd, _ := filepath.Abs("testdata/dmarc-rfc7489.xsd")
	out, err := exec.Command("xmllint", "--noout", "--schema", xsd, path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validates") {
		t.Fatalf("xmllint --schema: %v\n%s\n%s", err, out, doc)
	}
}

// pyReportCounts parses report XML with Python's xml.etree and returns
// the policy domain, the sum of the record counts and the count per
// disposition.
const pyReportCounts = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
out = {"domain": root.findtext("policy_published/domain"), "p": root.findtext("policy_published/p"),
       "org": root.findtext("report_metadata/org_name"), "total": 0, "by": {}}
for rec in root.findall("record"):
    n = int(rec.findtext("row/count"))
    d = rec.findtext("row/policy_evaluated/disposition")
    out["total"] += n
    out["by"][d] = out["by"].get(d, 0) + n
print(json.dumps(out))
`

type pyCounts struct {
	Domain, P, Org string
	Total          int
	By             map[string]int
}

func pyParseReport(t *testing.T, dir string, doc []byte) pyCounts {
	t.Helper()
	path := filepath.Join(dir, "py-report.xml")
	os.WriteFile(path, doc, 0o600)
	out, err := exec.Command(python, "-c", pyReportCounts, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python xml.etree: %v\n%s", err, out)
	}
	var c pyCounts
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	return c
}

// pySendZipReport mails, with smtplib, an aggregate report about
// e2e.test as a big receiver would: a zip attachment.
const pySendZipReport = `
import io, smtplib, sys, zipfile
from email.message import EmailMessage
xml = """<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <version>1.0</version>
  <report_metadata><org_name>bigmail.example</org_name><email>noreply-dmarc@bigmail.example</email>
    <report_id>17001</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>
  <policy_published><domain>e2e.test</domain><adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct><fo>0</fo></policy_published>
  <record><row><source_ip>203.0.113.5</source_ip><count>40</count>
    <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><envelope_from>e2e.test</envelope_from><header_from>e2e.test</header_from></identifiers>
    <auth_results><dkim><domain>e2e.test</domain><selector>s1</selector><result>pass</result></dkim>
      <spf><domain>e2e.test</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>198.51.100.66</source_ip><count>10</count>
    <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><envelope_from>spoof.example</envelope_from><header_from>e2e.test</header_from></identifiers>
    <auth_results><spf><domain>spoof.example</domain><scope>mfrom</scope><result>fail</result></spf></auth_results></record>
</feedback>
"""
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("bigmail.example!e2e.test!1700000000!1700086399.xml", xml)
m = EmailMessage()
m["From"] = "noreply-dmarc@bigmail.example"
m["To"] = "dmarc@e2e.test"
m["Subject"] = "Report Domain: e2e.test Submitter: bigmail.example Report-ID: <17001>"
m.set_content("DMARC aggregate report")
m.add_attachment(buf.getvalue(), maintype="application", subtype="zip", filename="bigmail.example!e2e.test!1700000000!1700086399.zip")
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), source_address=("127.0.0.2", 0))
s.send_message(m)
s.quit()
`

// TestDMARCReports: with send_reports on, a day of traffic from domains
// that publish rua= is recorded; the report of each finished period
// goes through the queue to the rua address (here a mailbox of ours,
// authorized as an external destination by DNS), as a gzip attachment
// whose XML validates against the RFC 7489 schema and parses with
// Python; `dmarc report DOMAIN --day` prints the day's report; the
// report mailbox is read, so our own report and a zip report another
// receiver sends about e2e.test are summarized by `dmarc reports`.
func TestDMARCReports(t *testing.T) {
	dns := hermeticDNS(t, dmarcZone+`
_dmarc.news.example.            TXT "v=DMARC1; p=none; rua=mailto:dmarc@e2e.test"
bank.example._report._dmarc.e2e.test. TXT "v=DMARC1"
news.example._report._dmarc.e2e.test. TXT "v=DMARC1"
`)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[dmarc]", "send_reports = true",
		`report_interval = "10s"`, `report_mailbox = "dmarc@e2e.test"`}}, func(s *server) {
		s.admin("domain", "add", "e2e.test")
		s.addUser("ann@e2e.test")
		s.addUser("dmarc@e2e.test")
	})
	day := time.Now().UTC().Format(time.DateOnly)
	// The traffic: 3 spoofs of bank.example (p=reject: refused), 2
	// newsletters of news.example (p=none: delivered).
	for i := range 3 {
		msg := message("ceo@bank.example", "ann@e2e.test", "pay", newMessageID("rep-bank"), "pay now "+strconv.Itoa(i))
		if r := s.swaks("--from", "ceo@bank.example", "--to", "ann@e2e.test", "--data", "@"+s.writeMessage(msg),
			"--local-interface", "127.0.0.2"); !strings.Contains(r.Out, "<** 550 5.7.1 ") {
			t.Fatalf("spoof %d not refused:\n%s", i, r.Out)
		}
	}
	for range 2 {
		s.send("letter@news.example", "ann@e2e.test", message("letter@news.example", "ann@e2e.test", "news", newMessageID("rep-news"), "news"),
			"--local-interface", "127.0.0.2")
	}

	// The reports arrive in dmarc@e2e.test once their periods end; the
	// traffic may straddle a period boundary, so counts are summed.
	dir := t.TempDir()
	deadline := time.Now().Add(60 * time.Second)
	var bank pyCounts
	for {
		bank = pyCounts{By: map[string]int{}}
		for name, doc := range reportAttachments(t, s, "dmarc@e2e.test", "bank.example") {
			if !strings.HasPrefix(name, "mx.test.example!bank.example!") || !strings.HasSuffix(name, ".xml.gz") {
				t.Errorf("report file name %q (RFC 7489 7.2.1.1)", name)
			}
			xmllintSchema(t, dir, name, doc)
			c := pyParseReport(t, dir, doc)
			if c.Domain != "bank.example" || c.P != "reject" || c.Org != "mx.test.example" {
				t.Errorf("report %s: %+v", name, c)
			}
			bank.Total += c.Total
			for k, v := range c.By {
				bank.By[k] += v
			}
		}
		if bank.Total >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if bank.Total != 3 || bank.By["reject"] != 3 {
		t.Fatalf("bank.example reports count %+v, want 3 rejected\nlog:\n%s", bank, s.Log())
	}
	if !strings.Contains(s.Log(), "dmarc: aggregate report for bank.example") {
		t.Error("the mail log does not show the report sent")
	}

	// The day's report as the CLI prints it.
	code, out, errOut := s.cli("dmarc", "report", "news.example", "--day", day)
	if code != 0 {
		t.Fatalf("dmarc report: %d %s", code, errOut)
	}
	xmllintSchema(t, dir, "day.xml", []byte(out))
	if c := pyParseReport(t, dir, []byte(out)); c.Total != 2 || c.By["none"] != 2 || c.Domain != "news.example" {
		t.Errorf("day report %+v\n%s", c, out)
	}

	// Another receiver's zip report about our domain, by SMTP.
	requireTool(t, python)
	if out, err := exec.Command(python, "-c", pySendZipReport, strconv.Itoa(s.Port)).CombinedOutput(); err != nil {
		t.Fatalf("python smtplib: %v\n%s", err, out)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, out, _ = s.cli("dmarc", "reports", "e2e.test")
		if strings.Contains(out, "bigmail.example") || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	for _, want := range []string{"e2e.test: 1 report from 2023-11-14 22:13:20 to 2023-11-15 22:13:19 UTC, 50 messages, 80.0% passed DMARC",
		"bigmail.example", "203.0.113.5", "198.51.100.66"} {
		if !strings.Contains(out, want) {
			t.Errorf("dmarc reports e2e.test: no %q in\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "198.51.100.66" && (f[1] != "10" || f[4] != "0.0%") {
			t.Errorf("198.51.100.66 row: %q", l)
		}
		if len(f) > 0 && f[0] == "203.0.113.5" && (f[1] != "40" || f[4] != "100.0%") {
			t.Errorf("203.0.113.5 row: %q", l)
		}
	}
	// Our own report about bank.example, read back from the same mailbox.
	_, out, _ = s.cli("dmarc", "reports", "bank.example")
	if !strings.Contains(out, "mx.test.example") || !strings.Contains(out, "0.0% passed DMARC (0 quarantined, 3 rejected)") {
		t.Errorf("dmarc reports bank.example:\n%s", out)
	}
}
