package imapmsg

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"mailwarden/internal/mime"
)

// PreviewLen is the most characters a preview has (RFC 8970 3.1 allows
// 256); 200 is what Dovecot and phones show.
const PreviewLen = 200

// Preview returns the preview text of the message (RFC 8970): the start
// of its first text/plain part, or of its first text/html part with the
// markup removed when it has no plain text, decoded to UTF-8, with
// quoted lines ("> ...") and signatures ("-- ") left out and every run of
// white space made one space; at most PreviewLen characters. A message
// without text gives "".
func (m *Message) Preview() string {
	p := firstText(m.tree(), "plain")
	html := false
	if p == nil {
		p, html = firstText(m.tree(), "html"), true
	}
	if p == nil {
		return ""
	}
	text, ok := p.Text()
	if !ok {
		return ""
	}
	s := string(text)
	if html {
		s = stripTags(s)
	}
	return previewOf(s)
}

// firstText finds the first text/sub part that is not an attachment,
// outside attached messages.
func firstText(p *mime.Part, sub string) *mime.Part {
	if p.IsMultipart() {
		for _, c := range p.Parts() {
			if t := firstText(c, sub); t != nil {
				return t
			}
		}
		return nil
	}
	if typ, _ := p.Disposition(); strings.EqualFold(typ, "attachment") {
		return nil
	}
	if strings.EqualFold(p.Type(), "text") && strings.EqualFold(p.Subtype(), sub) {
		return p
	}
	return nil
}

// previewOf makes the preview of plain text.
func previewOf(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "-- " {
			break // the signature
		}
		if strings.HasPrefix(strings.TrimLeft(line, " "), ">") {
			continue
		}
		for _, r := range line + "\n" {
			if r == utf8.RuneError || unicode.IsControl(r) && !unicode.IsSpace(r) {
				continue
			}
			if unicode.IsSpace(r) {
				space = b.Len() > 0
				continue
			}
			if space {
				if n+1 >= PreviewLen {
					return b.String()
				}
				b.WriteByte(' ')
				n++
				space = false
			}
			b.WriteRune(r)
			if n++; n >= PreviewLen {
				return b.String()
			}
		}
	}
	return b.String()
}

// stripTags removes HTML markup, with the content of style and script
// elements, and decodes the few entities text commonly has.
func stripTags(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		tag := strings.ToLower(s[1:j])
		s = s[j+1:]
		for _, el := range []string{"style", "script"} {
			if strings.HasPrefix(tag, el) {
				if k := strings.Index(strings.ToLower(s), "</"+el); k >= 0 {
					s = s[k:]
				} else {
					s = ""
				}
			}
		}
		b.WriteByte(' ')
	}
	return strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'").Replace(b.String())
}
