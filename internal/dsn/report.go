package dsn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Recipient is the per-recipient part of a report (RFC 3464 section
// 2.3).
type Recipient struct {
	// Final is the recipient address as the reporting MTA saw it
	// (Final-Recipient). Required.
	Final string
	// Original is the ORCPT parameter as given at RCPT time, e.g.
	// "rfc822;a@b" (Original-Recipient). Optional.
	Original string
	// Action is failed, delayed, delivered, relayed or expanded.
	// When empty it is derived from the report's Kind.
	Action string
	// Status is the RFC 3463 enhanced status code, e.g. "5.1.1". When
	// empty or malformed, the generic code of the action's class
	// (5.0.0, 4.0.0 or 2.0.0) is used.
	Status string
	// RemoteMTA is the MTA that reported the status, e.g.
	// "dns; mx.example.com" ("dns; " is added when no type is given).
	RemoteMTA string
	// Diagnostic is the remote (or local) diagnostic, e.g.
	// "smtp; 550 5.1.1 <a@b>: user unknown" ("X-Mailwarden; " is
	// added when no type is given).
	Diagnostic string
	// LastAttempt is the time of the last delivery attempt, if known.
	LastAttempt time.Time
	// WillRetryUntil is when delivery will be given up; delay reports
	// only.
	WillRetryUntil time.Time
}

// Report describes one delivery status notification.
type Report struct {
	Kind Kind
	// ReportingMTA is this host's name (Reporting-MTA). Required.
	ReportingMTA string
	// QueueID is the local queue identifier, reported as
	// X-Mailwarden-Queue-ID. Optional.
	QueueID string
	// EnvID is the ENVID of the original transaction
	// (Original-Envelope-Id). Optional.
	EnvID string
	// ArrivalDate is when the original message arrived. Optional.
	ArrivalDate time.Time
	// From is the notification's From: field; when empty it is
	// "MAILER-DAEMON@<ReportingMTA> (Mail Delivery System)".
	From string
	// To is the original envelope sender, to whom the notification is
	// sent (with a null envelope sender). Required, and not null.
	To string
	// Recipients are the recipients the report is about. Required.
	Recipients []Recipient
	// Original is the original message. Optional; without it the
	// report has two parts only.
	Original io.Reader
	// ReturnHeadersOnly returns only the original header (RET=HDRS).
	// Delay and success reports always return the header only.
	ReturnHeadersOnly bool
	// MaxOriginal caps the returned original in octets; a larger
	// original is returned as its header only. Zero means
	// DefaultMaxOriginal.
	MaxOriginal int64
	// SMTPUTF8 asks for an internationalised report (RFC 6533) even
	// when every address is ASCII, e.g. because the original was
	// received with the SMTPUTF8 parameter.
	SMTPUTF8 bool
	// Date is the notification's Date; the current time when zero.
	Date time.Time
	// MessageID is the notification's Message-ID (with or without
	// angle brackets); generated when empty.
	MessageID string
}

// Errors returned by Build.
var (
	ErrNullSender   = errors.New("dsn: no notification to a null sender")
	ErrNoRecipients = errors.New("dsn: report has no recipients")
	ErrNoHost       = errors.New("dsn: reporting MTA not set")
)

// global reports whether the report must use the RFC 6533 types.
func (r *Report) global() bool {
	if r.SMTPUTF8 || !isASCII(r.To) || !isASCII(r.From) {
		return true
	}
	for _, rc := range r.Recipients {
		if !isASCII(rc.Final) || !isASCII(rc.Original) {
			return true
		}
	}
	return false
}

// Build renders the notification as a complete message with CRLF line
// endings, ready to be queued with a null envelope sender to r.To.
func (r *Report) Build() ([]byte, error) {
	if !r.Kind.valid() {
		return nil, fmt.Errorf("dsn: invalid kind %v", r.Kind)
	}
	host := hostname(r.ReportingMTA)
	if host == "" {
		return nil, ErrNoHost
	}
	global := r.global()
	to := clean(r.To, global)
	if to == "" || to == "<>" {
		return nil, ErrNullSender
	}
	if len(r.Recipients) == 0 {
		return nil, ErrNoRecipients
	}
	rcpts := make([]recipient, len(r.Recipients))
	for i, rc := range r.Recipients {
		c, err := prepare(rc, r.Kind, global)
		if err != nil {
			return nil, err
		}
		rcpts[i] = c
	}

	parts := []*part{r.textPart(host, rcpts, global), r.statusPart(host, to, rcpts, global)}
	orig, err := r.returnedPart(global)
	if err != nil {
		return nil, err
	}
	if orig != nil {
		parts = append(parts, orig)
	}
	boundary, err := pickBoundary(parts)
	if err != nil {
		return nil, err
	}

	from := clean(r.From, global)
	if from == "" {
		from = "MAILER-DAEMON@" + host + " (Mail Delivery System)"
	}
	date := r.Date
	if date.IsZero() {
		date = time.Now()
	}
	msgID := clean(r.MessageID, global)
	if msgID == "" {
		if msgID, err = newMessageID(host); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(msgID, "<") {
		msgID = "<" + strings.TrimSuffix(msgID, ">") + ">"
	}
	reportType := "delivery-status"
	if global {
		reportType = "global-delivery-status"
	}
	eight := false
	for _, p := range parts {
		eight = eight || p.eight
	}

	var h strings.Builder
	writeField(&h, "From", from)
	writeField(&h, "To", to)
	writeField(&h, "Subject", r.Kind.subject())
	writeField(&h, "Date", rfc5322Date(date))
	writeField(&h, "Message-ID", msgID)
	writeField(&h, "Auto-Submitted", "auto-replied")
	writeField(&h, "MIME-Version", "1.0")
	writeField(&h, "Content-Type", "multipart/report; report-type="+reportType+";")
	h.WriteString("\tboundary=\"" + boundary + "\"\r\n")
	writeField(&h, "Content-Transfer-Encoding", cte(eight))

	var out bytes.Buffer
	out.WriteString(h.String())
	out.WriteString("\r\nThis is a MIME-encapsulated message.\r\n")
	for _, p := range parts {
		out.WriteString("\r\n--" + boundary + "\r\n")
		out.WriteString(p.header)
		out.WriteString("\r\n")
		out.Write(p.body)
	}
	out.WriteString("\r\n--" + boundary + "--\r\n")
	return out.Bytes(), nil
}

// recipient is a Recipient with every field cleaned and defaulted.
type recipient struct {
	final, original, action, status, remote, diag string
	display                                       string // address for the text part
	last, retry                                   time.Time
}

func prepare(rc Recipient, k Kind, global bool) (recipient, error) {
	c := recipient{last: rc.LastAttempt, retry: rc.WillRetryUntil}
	addr := clean(rc.Final, global)
	if addr == "" {
		return c, errors.New("dsn: recipient without a final address")
	}
	c.display = addr
	c.final = addressField(addr)
	if o := clean(rc.Original, global); o != "" {
		c.original = clean(originalField(o), global)
	}
	c.action = strings.ToLower(strings.TrimSpace(rc.Action))
	if c.action == "" {
		c.action = k.action()
	}
	if !actions[c.action] {
		return c, fmt.Errorf("dsn: invalid action %q", rc.Action)
	}
	c.status = strings.TrimSpace(rc.Status)
	if !validStatus(c.status) {
		c.status = defaultStatus(c.action)
	}
	if m := clean(rc.RemoteMTA, false); m != "" {
		c.remote = withType(m, "dns")
	}
	if d := clean(rc.Diagnostic, global); d != "" {
		c.diag = withType(d, "X-Mailwarden")
	}
	if k != Delay {
		c.retry = time.Time{}
	}
	return c, nil
}

// statusPart builds the message/delivery-status part (RFC 3464).
func (r *Report) statusPart(host, sender string, rcpts []recipient, global bool) *part {
	var b strings.Builder
	if env := clean(r.EnvID, false); env != "" {
		writeField(&b, "Original-Envelope-Id", env)
	}
	writeField(&b, "Reporting-MTA", "dns; "+host)
	if q := clean(r.QueueID, false); q != "" {
		writeField(&b, "X-Mailwarden-Queue-ID", q)
	}
	writeField(&b, "X-Mailwarden-Sender", addressField(sender))
	if !r.ArrivalDate.IsZero() {
		writeField(&b, "Arrival-Date", rfc5322Date(r.ArrivalDate))
	}
	for _, c := range rcpts {
		b.WriteString("\r\n")
		if c.original != "" {
			writeField(&b, "Original-Recipient", c.original)
		}
		writeField(&b, "Final-Recipient", c.final)
		writeField(&b, "Action", c.action)
		writeField(&b, "Status", c.status)
		if c.remote != "" {
			writeField(&b, "Remote-MTA", c.remote)
		}
		if c.diag != "" {
			writeField(&b, "Diagnostic-Code", c.diag)
		}
		if !c.last.IsZero() {
			writeField(&b, "Last-Attempt-Date", rfc5322Date(c.last))
		}
		if !c.retry.IsZero() {
			writeField(&b, "Will-Retry-Until", rfc5322Date(c.retry))
		}
	}
	ctype := "message/delivery-status"
	if global {
		ctype = "message/global-delivery-status"
	}
	body := b.String()
	eight := !isASCII(body)
	return &part{
		header: "Content-Description: Delivery report\r\n" +
			"Content-Type: " + ctype + "\r\n" +
			"Content-Transfer-Encoding: " + cte(eight) + "\r\n",
		body:  []byte(body),
		eight: eight,
	}
}

// textPart builds the human-readable explanation.
func (r *Report) textPart(host string, rcpts []recipient, global bool) *part {
	lines := []string{"This is the mail system at host " + host + ".", ""}
	lines = append(lines, r.Kind.intro()...)
	lines = append(lines, "", "                   The mail system", "")
	for _, c := range rcpts {
		lines = append(lines, wrapText("<"+c.display+">: "+explain(c), "    ")...)
		if !c.retry.IsZero() {
			lines = append(lines, "    (will be retried until "+rfc5322Date(c.retry)+")")
		}
		lines = append(lines, "")
	}
	body := strings.Join(lines, "\r\n")
	charset, eight := "us-ascii", false
	if !isASCII(body) {
		charset, eight = "utf-8", true
	}
	desc := "Notification"
	if r.Kind == Delay {
		desc = "Delay notification"
	}
	return &part{
		header: "Content-Description: " + desc + "\r\n" +
			"Content-Type: text/plain; charset=" + charset + "\r\n" +
			"Content-Transfer-Encoding: " + cte(eight) + "\r\n",
		body:  []byte(body),
		eight: eight,
	}
}

// explain is the human-readable reason given for a recipient.
func explain(c recipient) string {
	if c.diag != "" {
		_, v, _ := typed(c.diag)
		return v
	}
	switch c.action {
	case "failed":
		return "delivery failed (status " + c.status + ")"
	case "delayed":
		return "delivery temporarily suspended (status " + c.status + ")"
	case "relayed":
		return "relayed to a system that does not report delivery"
	case "expanded":
		return "delivered and forwarded to further recipients"
	}
	return "delivered to mailbox"
}

// pickBoundary returns a random boundary that occurs in no part.
func pickBoundary(parts []*part) (string, error) {
	for range 16 {
		var rnd [15]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", fmt.Errorf("dsn: boundary: %w", err)
		}
		b := "=_dsn_" + hex.EncodeToString(rnd[:])
		clash := false
		for _, p := range parts {
			if bytes.Contains(p.body, []byte(b)) {
				clash = true
				break
			}
		}
		if !clash {
			return b, nil
		}
	}
	return "", errors.New("dsn: no usable MIME boundary")
}

func newMessageID(host string) (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("dsn: message-id: %w", err)
	}
	return fmt.Sprintf("<%d.%s@%s>", time.Now().UnixNano(), hex.EncodeToString(rnd[:]), host), nil
}
