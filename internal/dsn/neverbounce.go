package dsn

import (
	"bytes"
	"mime"
	"strings"
)

// NeverBounce reports whether a message must never cause a delivery
// status notification, so that the queue does not bounce a bounce:
//
//   - its envelope sender is null ("" or "<>"), as RFC 5321 section
//     4.5.5 and RFC 3461 require for notifications, or is a
//     MAILER-DAEMON address;
//   - it carries Auto-Submitted with any value but "no" (RFC 3834);
//   - it is itself a delivery report: a multipart/report with
//     report-type delivery-status or global-delivery-status, or a bare
//     message/(global-)delivery-status.
//
// header is the raw header block of the message; the whole message may
// be passed, parsing stops at the first empty line.
func NeverBounce(envelopeFrom string, header []byte) bool {
	if nullSender(envelopeFrom) {
		return true
	}
	found := false
	eachField(header, func(name, value string) bool {
		found = autoField(name, value)
		return !found
	})
	return found
}

// NeverBounceHeader is NeverBounce for an already parsed header, such
// as a net/textproto.MIMEHeader or net/mail.Header. Field names are
// matched case-insensitively.
func NeverBounceHeader(envelopeFrom string, header map[string][]string) bool {
	if nullSender(envelopeFrom) {
		return true
	}
	for name, values := range header {
		for _, v := range values {
			if autoField(name, v) {
				return true
			}
		}
	}
	return false
}

func nullSender(from string) bool {
	from = strings.TrimSpace(from)
	from = strings.TrimSuffix(strings.TrimPrefix(from, "<"), ">")
	if from == "" {
		return true
	}
	local := from
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		local = from[:i]
	}
	return strings.EqualFold(local, "mailer-daemon")
}

// autoField reports whether one header field marks the message as one
// that must not be answered with a notification.
func autoField(name, value string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "auto-submitted":
		v := stripComments(value)
		if i := strings.IndexByte(v, ';'); i >= 0 {
			v = v[:i]
		}
		v = strings.ToLower(strings.TrimSpace(v))
		return v != "" && v != "no"
	case "content-type":
		return isReport(value)
	}
	return false
}

func isReport(value string) bool {
	mt, params, err := mime.ParseMediaType(value)
	if err != nil {
		// Be conservative with malformed fields.
		v := strings.ToLower(value)
		return strings.Contains(v, "delivery-status")
	}
	switch mt {
	case "message/delivery-status", "message/global-delivery-status":
		return true
	case "multipart/report":
		rt := strings.ToLower(params["report-type"])
		return rt == "delivery-status" || rt == "global-delivery-status"
	}
	return false
}

// stripComments removes RFC 5322 comments, "(...)", nested or not.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// eachField calls fn with every unfolded field of the header block at
// the start of raw, until fn returns false. Lines that are not fields
// are skipped.
func eachField(raw []byte, fn func(name, value string) bool) {
	var name string
	var value strings.Builder
	flush := func() bool {
		if name == "" {
			return true
		}
		ok := fn(name, value.String())
		name = ""
		value.Reset()
		return ok
	}
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if name != "" {
				value.WriteByte(' ')
				value.Write(bytes.TrimSpace(line))
			}
			continue
		}
		if !flush() {
			return
		}
		if i := bytes.IndexByte(line, ':'); i > 0 {
			name = string(bytes.TrimSpace(line[:i]))
			value.Write(bytes.TrimSpace(line[i+1:]))
		}
	}
	flush()
}
