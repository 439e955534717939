package smtpclient

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on what a server may send us (RFC 5321 4.5.3.1.5 allows 512
// octets a reply line; real servers send more, so we are lenient, but a
// hostile one must not make us buffer without limit).
const (
	maxReplyLine  = 2048 // longer lines are truncated
	maxReplyLines = 256  // more lines in one reply are a protocol error
	maxExtensions = 64   // EHLO keywords beyond these are ignored
)

// reply is one (possibly multi-line) SMTP reply.
type reply struct {
	code int
	// enh is the RFC 3463 enhanced code of the first line ("" if none);
	// text the lines after it, joined with a space.
	enh  string
	text string
	// lines are the raw texts after "250-" / "250 ", for EHLO.
	lines []string
}

func (r reply) ok() bool { return r.code >= 200 && r.code < 300 }

// enhanced is r's enhanced code, "X.0.0" when the server sent none.
func (r reply) enhanced() string {
	if r.enh == "" {
		return fmt.Sprintf("%d.0.0", r.code/100)
	}
	return r.enh
}

func (r reply) String() string { return fmt.Sprintf("%d %s %s", r.code, r.enhanced(), r.text) }

// errProtocol is a reply we cannot parse; the connection is then unusable.
var errProtocol = errors.New("protocol error")

// readReply reads one reply from br.
func readReply(br *bufio.Reader) (reply, error) {
	var r reply
	for {
		line, err := readLine(br)
		if err != nil {
			return reply{}, err
		}
		if len(r.lines) == maxReplyLines {
			return reply{}, fmt.Errorf("%w: reply longer than %d lines", errProtocol, maxReplyLines)
		}
		code, more, text, ok := parseReplyLine(line)
		switch {
		case !ok:
			return reply{}, fmt.Errorf("%w: bad reply line %q", errProtocol, truncate(line, 80))
		case r.lines != nil && code != r.code:
			return reply{}, fmt.Errorf("%w: reply code changed from %d to %d", errProtocol, r.code, code)
		}
		r.code = code
		r.lines = append(r.lines, text)
		if !more {
			break
		}
	}
	r.enh, r.text = splitEnhanced(r.code, r.lines)
	return r, nil
}

// readLine reads one line without its CRLF, truncated to maxReplyLine.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(b) < maxReplyLine {
			b = append(b, frag[:min(len(frag), maxReplyLine-len(b))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// parseReplyLine splits "250-text" / "250 text" / "250".
func parseReplyLine(line string) (code int, more bool, text string, ok bool) {
	if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
		return 0, false, "", false
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil || code < 200 || code > 599 {
		return 0, false, "", false
	}
	if len(line) > 3 {
		more, text = line[3] == '-', line[4:]
	}
	return code, more, text, true
}

// splitEnhanced takes the enhanced status code (RFC 2034: on every line)
// off the lines and joins them.
func splitEnhanced(code int, lines []string) (string, string) {
	enh, _, _ := strings.Cut(lines[0], " ")
	if !isEnhanced(code, enh) {
		enh = ""
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if enh != "" {
			if rest, found := strings.CutPrefix(l, enh); found && (rest == "" || rest[0] == ' ') {
				l = strings.TrimPrefix(rest, " ")
			}
		}
		out = append(out, l)
	}
	return enh, strings.Join(out, " ")
}

// isEnhanced reports whether s is "class.subject.detail" matching code's
// class (RFC 3463 2).
func isEnhanced(code int, s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || s[0]-'0' != byte(code/100) || s[0] == '3' {
		return false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 || (i == 0 && len(p) != 1) {
			return false
		}
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return false
			}
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// extensions are the EHLO/LHLO keywords (upper case) with their
// parameters.
type extensions map[string]string

// parseEHLO reads the extension lines of an EHLO reply (the first line is
// the server's greeting).
func parseEHLO(lines []string) extensions {
	ext := extensions{}
	for _, l := range lines[1:] {
		if len(ext) == maxExtensions {
			break
		}
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		kw = strings.ToUpper(kw)
		if strings.HasPrefix(kw, "AUTH=") { // pre-RFC 4954 servers
			params, kw = strings.TrimSpace(kw[5:]+" "+params), "AUTH"
			if old, ok := ext["AUTH"]; ok {
				params = old + " " + params
			}
		}
		if kw == "" || len(kw) > 64 {
			continue
		}
		ext[kw] = strings.TrimSpace(params)
	}
	return ext
}

func (e extensions) has(kw string) bool { _, ok := e[kw]; return ok }

// size is the SIZE limit (RFC 1870), 0 for none.
func (e extensions) size() int64 {
	n, err := strconv.ParseInt(e["SIZE"], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (e extensions) auth(mech string) bool {
	for _, m := range strings.Fields(e["AUTH"]) {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}
