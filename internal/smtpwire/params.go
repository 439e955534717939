package smtpwire

import (
	"math"
	"strings"
)

// MailParams are the MAIL parameters the server advertises.
type MailParams struct {
	// Size is SIZE= (RFC 1870 6: up to 20 digits). A value that overflows
	// uint64 becomes math.MaxUint64; the caller answers 552 5.3.4.
	Size     uint64
	HasSize  bool
	Body     string // "", "7BIT" or "8BITMIME" (RFC 6152); BINARYMIME is not offered
	SMTPUTF8 bool   // RFC 6531 3.4
	Ret      string // "", "FULL" or "HDRS" (RFC 3461 4.3)
	EnvID    string // ENVID, xtext-decoded (RFC 3461 4.4)
	Auth     string // AUTH= (RFC 4954 5), xtext-decoded; "<>" is kept as "<>"
}

// RcptParams are the RCPT parameters the server advertises (DSN, RFC 3461).
type RcptParams struct {
	// Notify is nil (no NOTIFY), ["NEVER"], or a subset of SUCCESS, FAILURE
	// and DELAY in the order the client wrote them (RFC 3461 4.1).
	Notify []string
	// ORCPT is "addr-type;" followed by the xtext-decoded address
	// (RFC 3461 4.2), e.g. "rfc822;a@b"; the addr-type is kept as written.
	ORCPT string
}

// Limits of RFC 3461: ENVID 100 characters (4.4), ORCPT 500 (4.2).
const (
	maxEnvID = 100
	maxORCPT = 500
)

func errUnsupported(key string) error {
	return newError(555, "5.5.4", "Unsupported option: "+key)
}

func errBadParam(key string) error {
	return newError(501, "5.5.4", "Bad "+key+" parameter")
}

func errDupParam(key string) error {
	return newError(501, "5.5.4", "Duplicate "+key+" parameter")
}

func errNoValue(key string) error {
	return newError(501, "5.5.4", key+" parameter takes no value")
}

// ParseMailParams validates the parameters of MAIL. An unknown keyword gives
// 555 5.5.4 "Unsupported option: KEY" (RFC 5321 4.1.1.11); a repeated
// keyword, a bad value or a value where none belongs gives 501 5.5.4.
func ParseMailParams(ps []Param) (MailParams, error) {
	var m MailParams
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Key] {
			return MailParams{}, errDupParam(p.Key)
		}
		seen[p.Key] = true
		switch p.Key {
		case "SIZE":
			n, ok := parseSize(p.Value)
			if !ok {
				return MailParams{}, errBadParam(p.Key)
			}
			m.Size, m.HasSize = n, true
		case "BODY":
			switch v := strings.ToUpper(p.Value); v {
			case "7BIT", "8BITMIME":
				m.Body = v
			case "BINARYMIME":
				return MailParams{}, newError(501, "5.5.4", "BODY=BINARYMIME is not supported")
			default:
				return MailParams{}, errBadParam(p.Key)
			}
		case "SMTPUTF8":
			if p.Value != "" {
				return MailParams{}, errNoValue(p.Key)
			}
			m.SMTPUTF8 = true
		case "RET":
			switch v := strings.ToUpper(p.Value); v {
			case "FULL", "HDRS":
				m.Ret = v
			default:
				return MailParams{}, errBadParam(p.Key)
			}
		case "ENVID":
			v, err := DecodeXtext(p.Value)
			if err != nil || p.Value == "" || len(p.Value) > maxEnvID || !printableASCII(v) {
				return MailParams{}, errBadParam(p.Key)
			}
			m.EnvID = v
		case "AUTH":
			if p.Value == "<>" {
				m.Auth = "<>"
				break
			}
			v, err := decodeXtext(p.Value, true)
			if err != nil || v == "" || !cleanText(v) || len(v) > 2*MaxLocal+MaxDomain {
				return MailParams{}, errBadParam(p.Key)
			}
			m.Auth = v
		default:
			return MailParams{}, errUnsupported(p.Key)
		}
	}
	return m, nil
}

// parseSize parses size-value = 1*20DIGIT (RFC 1870 6), saturating at
// math.MaxUint64.
func parseSize(s string) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			n = math.MaxUint64
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// ParseRcptParams validates the parameters of RCPT, with the codes of
// ParseMailParams.
func ParseRcptParams(ps []Param) (RcptParams, error) {
	var r RcptParams
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Key] {
			return RcptParams{}, errDupParam(p.Key)
		}
		seen[p.Key] = true
		switch p.Key {
		case "NOTIFY":
			n, ok := parseNotify(p.Value)
			if !ok {
				return RcptParams{}, errBadParam(p.Key)
			}
			r.Notify = n
		case "ORCPT":
			v, ok := parseORCPT(p.Value)
			if !ok {
				return RcptParams{}, errBadParam(p.Key)
			}
			r.ORCPT = v
		default:
			return RcptParams{}, errUnsupported(p.Key)
		}
	}
	return r, nil
}

// parseNotify: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 4.1).
func parseNotify(v string) ([]string, bool) {
	items := strings.Split(strings.ToUpper(v), ",")
	for i, item := range items {
		switch item {
		case "NEVER":
			if len(items) != 1 {
				return nil, false
			}
		case "SUCCESS", "FAILURE", "DELAY":
			for _, o := range items[:i] {
				if o == item {
					return nil, false
				}
			}
		default:
			return nil, false
		}
	}
	return items, true
}

// parseORCPT: addr-type ";" xtext, addr-type = atom (RFC 3461 4.2). UTF-8
// is allowed in the value (RFC 6533 utf-8-addr-unitext).
func parseORCPT(v string) (string, bool) {
	if len(v) > maxORCPT {
		return "", false
	}
	typ, addr, ok := strings.Cut(v, ";")
	if !ok || typ == "" || addr == "" {
		return "", false
	}
	for i := 0; i < len(typ); i++ {
		if !isAtext(typ[i]) || typ[i] >= 0x80 {
			return "", false
		}
	}
	dec, err := decodeXtext(addr, true)
	if err != nil || !cleanText(dec) {
		return "", false
	}
	return typ + ";" + dec, true
}

// printableASCII reports only %d32-126.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 {
			return false
		}
	}
	return true
}

// cleanText reports a decoded value without control characters that is
// ASCII or valid UTF-8.
func cleanText(s string) bool {
	return !hasCtl(s) && (isASCII(s) || validUTF8(s))
}
