package imapurl

import (
	"strings"
	"time"
)

// Authorization is the URLAUTH part of a URL (RFC 4467 2).
type Authorization struct {
	// Access is "anonymous", "authuser", "user+<name>" or
	// "submit+<name>", lower case; User is the <name>, %-decoded.
	Access, User string
	// Mechanism (upper case) and Token (lower-case hex) are empty in a
	// rump URL, as GENURLAUTH gets it.
	Mechanism, Token string
	// Rump is the URL up to and including the access identifier: what
	// the token signs.
	Rump string
}

// ParseAuthorization splits the URLAUTH part of raw, which Parse made u
// from; ok is false when u has none or it is malformed.
func ParseAuthorization(raw string, u *URL) (Authorization, bool) {
	if u.URLAuth == "" {
		return Authorization{}, false
	}
	i := indexFoldLast(raw, ";URLAUTH=")
	if i < 0 {
		return Authorization{}, false
	}
	a := Authorization{}
	access, rest, full := strings.Cut(u.URLAuth, ":")
	a.Rump = raw[:i+len(";URLAUTH=")+len(access)]
	lower := strings.ToLower(access)
	switch {
	case lower == "anonymous" || lower == "authuser":
		a.Access = lower
	case strings.HasPrefix(lower, "user+") || strings.HasPrefix(lower, "submit+"):
		kind, enc, _ := strings.Cut(access, "+")
		user, err := decode(enc, isAChar)
		if err != nil || user == "" {
			return Authorization{}, false
		}
		a.Access, a.User = strings.ToLower(kind)+"+"+user, user
	default:
		return Authorization{}, false
	}
	if full {
		mech, token, ok := strings.Cut(rest, ":")
		if !ok || mech == "" || len(token) < 32 || strings.Trim(strings.ToLower(token), "0123456789abcdef") != "" {
			return Authorization{}, false
		}
		if strings.Trim(strings.ToUpper(mech), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" {
			return Authorization{}, false
		}
		a.Mechanism, a.Token = strings.ToUpper(mech), strings.ToLower(token)
	}
	return a, true
}

// Expires returns the ;EXPIRE= time of u (RFC 4467 2, an RFC 3339
// date-time); ok is false when it is absent, err set when malformed.
func (u *URL) Expires() (t time.Time, ok bool, err error) {
	if u.Expire == "" {
		return time.Time{}, false, nil
	}
	t, err = time.Parse(time.RFC3339, u.Expire)
	if err != nil {
		return time.Time{}, true, errorf("bad EXPIRE %q", u.Expire)
	}
	return t, true, nil
}

// indexFoldLast finds the last upper-case ASCII sub in s, ignoring case.
func indexFoldLast(s, sub string) int {
	for i := len(s) - len(sub); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
