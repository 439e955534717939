package policy

import (
	"context"
	"strconv"
	"strings"
)

// Table is a lookup table as the access restrictions use it
// (check_client_access type:name, ...): a value for a key, found or not;
// an error is a temporary failure.
type Table interface {
	Lookup(ctx context.Context, key string) (value string, found bool, err error)
}

// Postfix's default reply codes for access(5) actions.
const (
	accessRejectCode = 554 // access_map_reject_code
	accessDeferCode  = 450 // access_map_defer_code
)

// accessAction turns an access(5) table value into a verdict: OK, a
// number, REJECT, DEFER, 4NN/5NN text, DEFER_IF_REJECT, DEFER_IF_PERMIT,
// DISCARD, DUNNO, HOLD, FILTER, PREPEND, REDIRECT, BCC, WARN, INFO, or a
// restriction (or class) name, which restriction evaluates. what and thing
// word the reply as Postfix does ("<1.2.3.4>: Client host rejected").
func accessAction(ctx context.Context, r *Request, value, what, thing string, restriction func(name string) (Check, bool)) Verdict {
	value = strings.TrimSpace(value)
	word, text, _ := strings.Cut(value, " ")
	text = strings.TrimSpace(text)
	reply := func(code int, defEnh, defText string) Verdict {
		enh := defEnh
		if e, rest, ok := cutEnhanced(text); ok && e[0] == defEnh[0] {
			enh, text = e, rest
		}
		if text == "" {
			text = defText
		}
		return reject(code, enh, "<"+what+">: "+thing+": "+text)
	}
	switch up := strings.ToUpper(word); {
	case up == "OK" || isNumber(value): // access(5): an all-numeric result is OK
		return Verdict{Action: Permit}
	case up == "DUNNO":
		return Verdict{}
	case up == "REJECT":
		return reply(accessRejectCode, "5.7.1", "Access denied")
	case up == "DEFER":
		return reply(accessDeferCode, "4.7.1", "Access denied")
	case len(word) == 3 && (word[0] == '4' || word[0] == '5') && isNumber(word):
		code, _ := strconv.Atoi(word)
		enh := "4.7.1"
		if word[0] == '5' {
			enh = "5.7.1"
		}
		return reply(code, enh, "Access denied")
	case up == "DEFER_IF_REJECT":
		return Verdict{Action: DeferIfReject}
	case up == "DEFER_IF_PERMIT":
		v := reply(accessDeferCode, "4.7.1", "Service unavailable")
		v.Action = DeferIfPermit
		return v
	case up == "DISCARD":
		return Verdict{Action: Discard, Arg: text}
	case up == "HOLD":
		return Verdict{Action: Hold, Arg: text}
	case up == "FILTER":
		return Verdict{Action: Filter, Arg: text}
	case up == "PREPEND":
		if text == "" || !strings.Contains(text, ":") {
			return Verdict{}
		}
		return Verdict{Action: Prepend, Arg: cleanField(text)}
	case up == "REDIRECT":
		return Verdict{Action: Redirect, Arg: text}
	case up == "BCC":
		return Verdict{Action: BCC, Arg: text}
	case up == "WARN", up == "INFO":
		return Verdict{Action: Warn, Arg: text}
	}
	// A restriction name or class, with its arguments as a restriction
	// entry would have them.
	if restriction != nil {
		if c, ok := restriction(value); ok {
			return c.Check(ctx, r)
		}
	}
	// Postfix answers an unknown action with a temporary error
	// ("unknown action"), so a typo never accepts or refuses mail.
	return reject(451, "4.3.5", "Server configuration error")
}

// cutEnhanced splits a leading enhanced status code ("5.7.1 text").
func cutEnhanced(s string) (enh, rest string, ok bool) {
	e, rest, _ := strings.Cut(s, " ")
	p := strings.Split(e, ".")
	if len(p) != 3 || len(p[0]) != 1 || (p[0] != "2" && p[0] != "4" && p[0] != "5") || !isNumber(p[1]) || !isNumber(p[2]) {
		return "", s, false
	}
	return e, strings.TrimSpace(rest), true
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cleanField keeps a header field a table adds on one line.
func cleanField(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// accessCheck is check_*_access: the first key found decides, by its
// action; keys not found go on (DUNNO).
type accessCheck struct {
	name        string
	t           Table
	keys        func(r *Request) (keys []string, what, thing string)
	restriction func(name string) (Check, bool)
	d           Deps
}

func (a *accessCheck) Name() string { return a.name }

// depthKey counts access tables consulted inside one another (a value
// naming a class that checks a table whose value names a class...).
type depthKey struct{}

func (a *accessCheck) Check(ctx context.Context, r *Request) Verdict {
	depth, _ := ctx.Value(depthKey{}).(int)
	if depth >= maxClassDepth {
		a.d.warn(a.name + ": access tables nest too deep (a loop of restriction names?)")
		return reject(451, "4.3.5", "Server configuration error")
	}
	ctx = context.WithValue(ctx, depthKey{}, depth+1)
	keys, what, thing := a.keys(r)
	for _, k := range keys {
		v, found, err := a.t.Lookup(ctx, k)
		if err != nil {
			a.d.warn(a.name + ": lookup " + k + ": " + err.Error())
			return reject(451, "4.3.0", "<"+what+">: Temporary lookup failure")
		}
		if found && strings.TrimSpace(v) != "" { // Postfix ignores an empty result
			return accessAction(ctx, r, v, what, thing, a.restriction)
		}
	}
	return Verdict{}
}
