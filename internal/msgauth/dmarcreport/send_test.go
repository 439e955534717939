package dmarcreport

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/msgauth/dmarc"
	"mailwarden/internal/queue"
	"mailwarden/internal/sqldb"
)

type env struct {
	db  *sqldb.DB
	q   *queue.Queue
	cfg *config.Config
	dns *dnstest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	db, err := sqldb.Open(context.Background(), filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := queue.New(db, filepath.Join(dir, "queue"), false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Hostname = "mx.ours.test"
	cfg.DMARC.SendReports = true
	dns := dnstest.New(t, `
_dmarc.bank.test. TXT "v=DMARC1; p=none; rua=mailto:a@bank.test"
bank.test._report._dmarc.reports.example. TXT "v=DMARC1"
shop.test._report._dmarc.reports.example. TXT "v=DMARC1; rua=mailto:other@reports.example, mailto:evil@elsewhere.example"
`)
	return &env{db: db, q: q, cfg: cfg, dns: dns}
}

func (e *env) sender(node string, now time.Time) *Sender {
	return &Sender{DB: e.db, Queue: e.q, DNS: e.dns.Resolver(), Config: func() *config.Config { return e.cfg },
		Now: func() time.Time { return now }, Node: node}
}

func (e *env) record(t *testing.T, policy string, r Row, at time.Time, n int) {
	t.Helper()
	st := &Store{DB: e.db, Interval: e.cfg.DMARC.ReportInterval.D()}
	r.Policy = policy
	for range n {
		if err := st.Record(context.Background(), r, at); err != nil {
			t.Fatal(err)
		}
	}
}

var day = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func row(domain, ip, spf string) Row {
	return Row{PolicyDomain: domain, SourceIP: ip, HeaderFrom: domain, EnvelopeFrom: domain, EnvelopeTo: "ours.test",
		SPFDomain: domain, SPFScope: "mfrom", SPFResult: spf, DKIM: []DKIM{{Domain: domain, Selector: "s1", Result: "fail"}},
		DKIMAligned: "fail", SPFAligned: map[bool]string{true: "pass", false: "fail"}[spf == "pass"],
		Disposition: map[bool]string{true: "none", false: "reject"}[spf == "pass"]}
}

// readReport opens the queued report message and returns its headers
// and the XML of its gzip attachment.
func readReport(t *testing.T, q *queue.Queue, id string) (mail.Header, string, string) {
	t.Helper()
	_, rc, err := q.Show(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	m, err := mail.ReadMessage(rc)
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no gzip part: %v", err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "application/gzip") {
			continue
		}
		zr, err := gzip.NewReader(base64Reader(p))
		if err != nil {
			t.Fatal(err)
		}
		xml, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return m.Header, p.FileName(), string(xml)
	}
}

func TestSendDue(t *testing.T) {
	e := newEnv(t)
	e.record(t, "v=DMARC1; p=reject; rua=mailto:dmarc@bank.test", row("bank.test", "192.0.2.1", "pass"), day.Add(time.Hour), 3)
	e.record(t, "v=DMARC1; p=reject; rua=mailto:dmarc@bank.test", row("bank.test", "2001:db8::7", "fail"), day.Add(2*time.Hour), 2)
	// Not finished yet at the time of sending: the next day.
	e.record(t, "v=DMARC1; p=reject; rua=mailto:dmarc@bank.test", row("bank.test", "192.0.2.1", "pass"), day.Add(25*time.Hour), 1)

	// During the day nothing is due.
	if n, err := e.sender("a", day.Add(23*time.Hour)).SendDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("during the day: %d, %v", n, err)
	}
	now := day.Add(24*time.Hour + time.Minute)
	n, err := e.sender("a", now).SendDue(context.Background())
	if n != 1 || err != nil {
		t.Fatalf("sent %d, %v; want 1", n, err)
	}
	// A second node finds it claimed.
	if n, err := e.sender("b", now).SendDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("second node sent %d, %v", n, err)
	}
	list, err := e.q.List(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("queue: %v, %v", list, err)
	}
	if list[0].Sender != "" || len(list[0].Rcpts) != 1 || list[0].Rcpts[0].Address != "dmarc@bank.test" {
		t.Errorf("queued %+v", list[0])
	}
	h, name, doc := readReport(t, e.q, list[0].ID)
	begin, end := day.Unix(), day.Add(24*time.Hour).Unix()-1
	if want := dmarc.Filename("mx.ours.test", "bank.test", begin, end, "", "xml.gz"); name != want {
		t.Errorf("file name %q, want %q", name, want)
	}
	if s := h.Get("Subject"); !strings.HasPrefix(s, "Report Domain: bank.test Submitter: mx.ours.test Report-ID: <") {
		t.Errorf("Subject %q", s)
	}
	if h.Get("From") != "noreply-dmarc@mx.ours.test" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("header %v", h)
	}
	f, err := dmarc.ParseFeedback(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if f.Policy.Domain != "bank.test" || f.Policy.P != "reject" || f.Metadata.DateRange.Begin != begin || f.Metadata.DateRange.End != end {
		t.Errorf("report %+v", f)
	}
	counts := map[string]int64{}
	for _, r := range f.Records {
		counts[r.Row.SourceIP+" "+r.Row.PolicyEvaluated.Disposition] = r.Row.Count
	}
	if len(counts) != 2 || counts["192.0.2.1 none"] != 3 || counts["2001:0db8:0000:0000:0000:0000:0000:0007 reject"] != 2 {
		t.Errorf("records %v", counts)
	}
}

func TestDestinations(t *testing.T) {
	e := newEnv(t)
	s := e.sender("a", day)
	cases := []struct {
		domain, record string
		size           int64
		want           string
	}{
		{"bank.test", "v=DMARC1; p=none; rua=mailto:a@bank.test,mailto:b@sub.bank.test", 100, "a@bank.test b@sub.bank.test"},
		// RFC 7489 7.1: an outside address needs the receiver's record.
		{"bank.test", "v=DMARC1; p=none; rua=mailto:r@reports.example", 100, "r@reports.example"},
		{"other.test", "v=DMARC1; p=none; rua=mailto:r@reports.example", 100, ""},
		// Step 8: the receiver's rua replaces ours, at its own host only.
		{"shop.test", "v=DMARC1; p=none; rua=mailto:r@reports.example", 100, "other@reports.example"},
		// !size: a report over the limit is not sent there.
		{"bank.test", "v=DMARC1; p=none; rua=mailto:a@bank.test!1k,mailto:b@bank.test", 5000, "b@bank.test"},
		{"bank.test", "v=DMARC1; p=none; rua=https://bank.test/report", 100, ""},
	}
	for _, c := range cases {
		rec, err := dmarc.ParseRecord(c.record)
		if err != nil {
			t.Fatal(err)
		}
		to, notes, err := s.destinations(context.Background(), c.domain, rec, c.size)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(to, " "); got != c.want {
			t.Errorf("%s %q: %q (notes %q), want %q", c.domain, c.record, got, notes, c.want)
		}
	}
}

// With a dead resolver the external check fails temporarily: nothing
// is claimed, so the next round tries again.
func TestSendTempFailure(t *testing.T) {
	e := newEnv(t)
	e.record(t, "v=DMARC1; p=reject; rua=mailto:r@reports.example", row("bank.test", "192.0.2.1", "pass"), day.Add(time.Hour), 1)
	s := e.sender("a", day.Add(25*time.Hour))
	s.DNS = nil
	if n, err := s.SendDue(context.Background()); n != 0 || err == nil {
		t.Fatalf("sent %d, %v; want an error", n, err)
	}
	var claims int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM dmarc_report_sent`).Scan(&claims)
	if claims != 0 {
		t.Errorf("%d claims after a temporary failure", claims)
	}
	if n, err := e.sender("a", day.Add(25*time.Hour)).SendDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("retry sent %d, %v", n, err)
	}
}

func TestPrune(t *testing.T) {
	e := newEnv(t)
	e.record(t, "v=DMARC1; p=reject; rua=mailto:dmarc@bank.test", row("bank.test", "192.0.2.1", "pass"), day, 1)
	e.cfg.DMARC.SendReports = false
	e.sender("a", day.Add(62*24*time.Hour)).SendDue(context.Background())
	var n int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM dmarc_result`).Scan(&n)
	if n != 0 {
		t.Errorf("%d results kept past keep_days", n)
	}
}

func TestPeriod(t *testing.T) {
	at := time.Date(2026, 3, 1, 13, 30, 0, 0, time.UTC)
	if s, e := Period(at, 24*time.Hour); s != day.Unix() || e != day.Add(24*time.Hour).Unix() {
		t.Errorf("day: %d %d", s, e)
	}
	if s, e := Period(at, time.Hour); s != day.Add(13*time.Hour).Unix() || e != day.Add(14*time.Hour).Unix() {
		t.Errorf("hour: %d %d", s, e)
	}
}

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }

func base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return out.String() + s + "\r\n"
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
