package mlog

import (
	"log/slog"
	"strconv"

	"mailwarden/internal/event"
)

// rateWarnings are Postfix smtpd's warnings per rate, in LimitKind order.
var rateWarnings = [event.NumLimitKinds]string{
	"warning: Connection rate limit exceeded: ",
	"warning: Message delivery request rate limit exceeded: ",
	"warning: Recipient address rate limit exceeded: ",
	"warning: New TLS session rate limit exceeded: ",
	"warning: AUTH command rate limit exceeded: ",
}

// appendAbuse writes the lines of the abuse-limit events: Postfix
// smtpd's rate warnings, postscreen's PREGREET, and the automatic block.
func appendAbuse(b []byte, ev event.Event) (_ []byte, lvl slog.Level, ok bool) {
	lvl = slog.LevelInfo
	switch e := ev.(type) {
	case *event.RateLimited:
		lvl = slog.LevelWarn
		if e.Kind >= event.NumLimitKinds {
			return b, lvl, false
		}
		b = append(b, rateWarnings[e.Kind]...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
		b = append(b, " from "...)
		b = e.Client.AppendTo(b)
		b = append(b, " for service "...)
		b = append(b, e.Source().Service()...)
	case *event.Pregreet:
		// postscreen: "PREGREET 11 after 0.05 from [192.0.2.7]:5678: EHLO x\r\n"
		b = append(b, "PREGREET "...)
		b = strconv.AppendInt(b, int64(e.Bytes), 10)
		b = append(b, " after "...)
		b = strconv.AppendFloat(b, e.After.Seconds(), 'f', 2, 64)
		b = append(b, " from ["...)
		b = appendIP(b, e.Client.IP)
		b = append(b, "]:"...)
		b = strconv.AppendInt(b, int64(e.Port), 10)
		b = append(b, ": "...)
		b = append(b, e.Text...)
	case *event.AutoBlocked:
		lvl = slog.LevelWarn
		b = append(b, "warning: autoblock: blocked "...)
		b = appendIP(b, e.Client)
		b = append(b, " for "...)
		b = strconv.AppendInt(b, int64(e.For.Seconds()), 10)
		b = append(b, "s: "...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
		b = append(b, ' ')
		b = append(b, causeText(e.Cause)...)
		b = append(b, " within "...)
		b = strconv.AppendInt(b, int64(e.Within.Seconds()), 10)
		b = append(b, 's')
		if e.Command != "" {
			b = append(b, "; ran "...)
			b = append(b, e.Command...)
		}
	case *event.AuthLockout:
		return b, lvl, false // the authenticator logs its own line
	default:
		return b, lvl, false
	}
	return b, lvl, true
}

// causeText names an autoblock cause in its log line.
func causeText(cause string) string {
	switch cause {
	case "auth":
		return "login-failure lockouts"
	case "errors":
		return "sessions over the error limit"
	case "rate":
		return "rate or connection limit hits"
	case "pregreet":
		return "pregreet test failures"
	}
	return cause
}
