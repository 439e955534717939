package imapmsg

import (
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Collate returns the i;unicode-casemap key of s (RFC 5051): each
// character mapped to its titlecase, then the string decomposed (NFKD).
// Two strings compare under the collation as their keys compare octet by
// octet; SORT and THREAD compare with it (RFC 5256 3).
func Collate(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < 0x80
	}
	if ascii {
		return strings.ToUpper(s)
	}
	// Decomposing first lets titlecase reach letters inside ligatures
	// and compatibility characters ("ﬁ" is "FI" like "fi").
	s = norm.NFKD.String(strings.ToValidUTF8(s, "\uFFFD"))
	return norm.NFKD.String(strings.Map(unicode.ToTitle, s))
}

// BaseSubject extracts the base subject of a Subject value as RFC 5256
// 2.1 defines it, RFC 2047 decoding included, and reports whether
// anything marking a reply or forward was removed (a "Re:" or "Fwd:"
// leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper), which THREAD
// uses (RFC 5256 2.1 and REFERENCES step 5).
func BaseSubject(raw string) (base string, reply bool) {
	// (1) Decode, tabs and folding to spaces, runs of spaces to one.
	s := decodeHeader(raw)
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == '\t' || r == '\r' || r == '\n' || r == ' ' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	s = b.String()
	for {
		// (2) Trailers: "(fwd)" and blanks at the end.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				t = t[:len(t)-5]
				reply = true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3)-(5) Leaders and blobs, repeated until none is left.
		for {
			t, r := trimLeader(s)
			if r {
				reply = true
			}
			t = trimBlob(t)
			if t == s {
				break
			}
			s = t
		}
		// (6) "[fwd: ...]" around the whole: unwrap and start again.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = s[5 : len(s)-1]
			reply = true
			continue
		}
		return s, reply
	}
}

// blob returns the length of a subj-blob at the start of s ("[" any but
// brackets "]" followed by blanks), or 0.
func blob(s string) int {
	if !strings.HasPrefix(s, "[") {
		return 0
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0
	}
	n := end + 2
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// trimLeader removes one subj-leader from the front of s (RFC 5256 5):
// blanks, or blobs followed by "re", "fw" or "fwd", blanks, an optional
// blob and ":". r tells whether a reply/forward leader was removed.
func trimLeader(s string) (string, bool) {
	if strings.HasPrefix(s, " ") {
		return strings.TrimLeft(s, " "), false
	}
	i := 0
	for {
		n := blob(s[i:])
		if n == 0 {
			break
		}
		i += n
	}
	rest := s[i:]
	var k int
	switch {
	case len(rest) >= 3 && strings.EqualFold(rest[:3], "fwd"):
		k = 3
	case len(rest) >= 2 && (strings.EqualFold(rest[:2], "re") || strings.EqualFold(rest[:2], "fw")):
		k = 2
	default:
		return s, false
	}
	for k < len(rest) && rest[k] == ' ' {
		k++
	}
	k += blob(rest[k:])
	if k < len(rest) && rest[k] == ':' {
		return rest[k+1:], true
	}
	return s, false
}

// trimBlob removes a leading subj-blob when something is left after it
// (RFC 5256 2.1 step 4).
func trimBlob(s string) string {
	if n := blob(s); n > 0 && strings.TrimLeft(s[n:], " ") != "" {
		return s[n:]
	}
	return s
}

// firstAddress returns the first element of the first field named
// field, as ENVELOPE lists it: a mailbox, or the start of a group, whose
// mailbox is the group's name (RFC 9051 7.5.2), as Dovecot sorts it.
func (m *Message) firstAddress(field string) (address, bool) {
	v, ok := m.header().Get(field)
	if !ok {
		return address{}, false
	}
	list := parseAddressList(v)
	if len(list) == 0 || list[0].kind == addrGroupEnd {
		return address{}, false
	}
	return list[0], true
}

// SortAddress is the SORT key FROM, TO or CC (RFC 5256 3): the local part
// (addr-mailbox) of the first address of field, collated; "" without one.
func (m *Message) SortAddress(field string) string {
	a, ok := m.firstAddress(field)
	if !ok || a.mailbox == missingMailbox {
		return ""
	}
	return Collate(a.mailbox)
}

// DisplayAddress is the SORT key DISPLAYFROM or DISPLAYTO (RFC 5957 2):
// the decoded display name of the first address of field, or its
// addr-spec when it has none, collated.
func (m *Message) DisplayAddress(field string) string {
	a, ok := m.firstAddress(field)
	if !ok {
		return ""
	}
	if a.kind == addrGroupStart {
		return Collate(strings.TrimSpace(decodeHeader(a.mailbox)))
	}
	if name := strings.TrimSpace(decodeHeader(a.name)); name != "" {
		return Collate(name)
	}
	if a.host == "" || a.host == missingDomain {
		return Collate(a.mailbox)
	}
	return Collate(a.mailbox + "@" + a.host)
}

// SortSubject is the SORT key SUBJECT: the collated base subject.
func (m *Message) SortSubject() string {
	v, _ := m.header().Get("subject")
	base, _ := BaseSubject(v)
	return Collate(base)
}

// SentDate is the SORT key DATE (RFC 5256 3): the Date: header, or
// internal when it is missing, unreadable or not after 1970-01-01 (as
// Dovecot, which takes such dates for unset).
func (m *Message) SentDate(internal time.Time) time.Time {
	if d := m.Date(); d.Unix() > 0 {
		return d
	}
	return internal
}
