package mlog

import (
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"mailwarden/internal/event"
)

// AppendText appends the text of ev's log line (what follows
// "program[pid]: ") to b in Postfix's or Dovecot's wording, and returns
// the line's severity. ok is false for events that have no line (they are
// only counted). pid fills Dovecot's mpid=.
func AppendText(b []byte, ev event.Event, pid int) (_ []byte, lvl slog.Level, ok bool) {
	lvl = slog.LevelInfo
	switch e := ev.(type) {
	case *event.Connect:
		if e.Source().Dovecot() || e.Source() == event.Pickup {
			return b, lvl, false // Dovecot and pickup log no connect line
		}
		b = append(b, "connect from "...)
		b = e.Client.AppendTo(b)
	case *event.Disconnect:
		if e.Source() == event.Pickup {
			return b, lvl, false
		}
		b = append(b, "disconnect from "...)
		b = e.Client.AppendTo(b)
		ok, all := 0, 0
		for _, c := range e.Commands {
			if c.Total == 0 {
				continue
			}
			b = appendCount(b, c.Name, c.OK, c.Total)
			ok += c.OK
			all += c.Total
		}
		b = appendCount(b, "commands", ok, all)
	case *event.Lost:
		b = appendLost(b, e)
	case *event.TooManyConnections:
		lvl = slog.LevelWarn
		if e.Source().Dovecot() {
			b = append(b, e.Source()...)
			b = append(b, ": Disconnected: Too many connections: rip="...)
			b = appendIP(b, e.Client.IP)
			return b, lvl, true
		}
		b = append(b, "warning: Connection concurrency limit exceeded: "...)
		if e.Limit > 0 {
			b = strconv.AppendInt(b, int64(e.Limit), 10)
			b = append(b, ' ')
		}
		b = append(b, "from "...)
		b = e.Client.AppendTo(b)
		b = append(b, " for service "...)
		b = append(b, e.Source().Service()...)
	case *event.Blocked:
		// No Postfix daemon sees a client iptables dropped; the line
		// follows the concurrency-limit one, and Dovecot's Disconnected.
		if e.Source().Dovecot() {
			b = append(b, e.Source()...)
			b = append(b, ": Disconnected: Client blocked"...)
			if e.Reason != "" {
				b = append(b, " ("...)
				b = append(b, e.Reason...)
				b = append(b, ')')
			}
			b = append(b, ": rip="...)
			b = appendIP(b, e.Client.IP)
			return b, lvl, true
		}
		b = append(b, "blocked connection from "...)
		b = e.Client.AppendTo(b)
		b = append(b, " for service "...)
		b = append(b, e.Source().Service()...)
		if e.Reason != "" {
			b = append(b, ": "...)
			b = append(b, e.Reason...)
		}
	case *event.Reject:
		b = appendReject(b, e)
	case *event.Queued:
		b = append(b, e.QueueID...)
		b = append(b, ": client="...)
		b = e.Client.AppendTo(b)
		if e.SASLUser != "" {
			b = append(b, ", sasl_method="...)
			b = append(b, e.SASLMethod...)
			b = append(b, ", sasl_username="...)
			b = append(b, e.SASLUser...)
		}
	case *event.AuthFailed:
		if e.Source().Dovecot() {
			return b, lvl, false // the Disconnected line counts the attempts
		}
		lvl = slog.LevelWarn
		b = append(b, "warning: "...)
		b = e.Client.AppendTo(b)
		b = append(b, ": SASL "...)
		b = append(b, e.Mechanism...)
		b = append(b, " authentication failed: "...)
		if e.Reason == "" {
			b = append(b, "authentication failure"...)
		} else {
			b = append(b, e.Reason...)
		}
		if e.User != "" {
			b = append(b, ", sasl_username="...)
			b = append(b, e.User...)
		}
	case *event.AuthOK:
		return b, lvl, false // Postfix names the user in the client= line only
	case *event.MessageID:
		b = append(b, e.QueueID...)
		b = append(b, ": message-id="...)
		if e.MessageID == "" {
			b = append(b, "<>"...)
		} else {
			b = append(b, e.MessageID...)
		}
	case *event.Received:
		b = append(b, e.QueueID...)
		b = append(b, ": from=<"...)
		b = append(b, e.From...)
		b = append(b, ">, size="...)
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, ", nrcpt="...)
		b = strconv.AppendInt(b, int64(e.NRcpt), 10)
		b = append(b, " (queue active)"...)
	case *event.Submitted:
		b = append(b, e.QueueID...)
		b = append(b, ": uid="...)
		b = strconv.AppendInt(b, int64(e.UID), 10)
		b = append(b, " from=<"...)
		b = append(b, e.From...)
		b = append(b, '>')
	case *event.Delivery:
		b = appendDelivery(b, e)
	case *event.Expired:
		b = append(b, e.QueueID...)
		b = append(b, ": from=<"...)
		b = append(b, e.From...)
		b = append(b, ">, status=expired, returned to sender"...)
	case *event.Removed:
		b = append(b, e.QueueID...)
		b = append(b, ": removed"...)
	case *event.Admin:
		b = appendAdmin(b, e)
	case *event.DSN:
		b = append(b, e.QueueID...)
		if e.Postmaster {
			b = append(b, ": postmaster "...)
		} else {
			b = append(b, ": sender "...)
		}
		switch e.Kind {
		case event.Delay:
			b = append(b, "delay notification: "...)
		case event.Success:
			b = append(b, "delivery status notification: "...)
		default:
			b = append(b, "non-delivery notification: "...)
		}
		b = append(b, e.NewID...)
	case *event.Login:
		b = append(b, e.Source()...)
		b = append(b, ": Login: "...)
		b = appendClient(b, e.User, e.Method, e.RIP, e.LIP, pid, e.TLS)
	case *event.LoginDisconnect:
		b = appendLoginDisconnect(b, e)
	case *event.Logout:
		b = append(b, e.Source()...)
		b = append(b, '(')
		b = append(b, e.User...)
		b = append(b, "): "...)
		if e.Source() == event.IMAP && (e.Reason == "" || e.Reason == "Logged out") {
			b = append(b, "Logged out"...)
		} else {
			b = append(b, "Disconnected: "...)
			b = append(b, e.Reason...)
		}
		if e.Stats != "" {
			b = append(b, ' ')
			b = append(b, e.Stats...)
		}
	case *event.RateLimited, *event.Pregreet, *event.AutoBlocked, *event.AuthLockout:
		return appendAbuse(b, ev)
	case *event.Note:
		lvl = e.Level
		switch {
		case lvl >= slog.LevelError:
			b = append(b, "error: "...)
		case lvl >= slog.LevelWarn:
			b = append(b, "warning: "...)
		}
		b = append(b, e.Text...)
	default:
		return b, lvl, false
	}
	return b, lvl, true
}

func appendCount(b []byte, name string, ok, all int) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=')
	b = strconv.AppendInt(b, int64(ok), 10)
	if ok != all {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(all), 10)
	}
	return b
}

func appendLost(b []byte, e *event.Lost) []byte {
	switch e.Kind {
	case event.Timeout:
		b = append(b, "timeout after "...)
	case event.TooManyErrors:
		b = append(b, "too many errors after "...)
	case event.Pipelining:
		b = append(b, "improper command pipelining after "...)
	default:
		b = append(b, "lost connection after "...)
	}
	b = append(b, e.After...)
	b = append(b, " from "...)
	b = e.Client.AppendTo(b)
	if e.Kind == event.Pipelining && e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	return b
}

// appendReject writes Postfix's smtpd_check reject line.
func appendReject(b []byte, e *event.Reject) []byte {
	if e.QueueID == "" {
		b = append(b, "NOQUEUE"...)
	} else {
		b = append(b, e.QueueID...)
	}
	b = append(b, ": "...)
	if e.Action == "" {
		b = append(b, "reject"...)
	} else {
		b = append(b, e.Action...)
	}
	b = append(b, ": "...)
	b = append(b, e.Stage...)
	b = append(b, " from "...)
	b = e.Client.AppendTo(b)
	b = append(b, ": "...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	if e.DSN != "" {
		b = append(b, ' ')
		b = append(b, e.DSN...)
	}
	b = append(b, ' ')
	b = append(b, e.Text...)
	b = append(b, "; from=<"...)
	b = append(b, e.From...)
	b = append(b, '>')
	if e.To != "" {
		b = append(b, " to=<"...)
		b = append(b, e.To...)
		b = append(b, '>')
	}
	b = append(b, " proto="...)
	if e.Proto == "" {
		b = append(b, "SMTP"...)
	} else {
		b = append(b, e.Proto...)
	}
	if e.Helo != "" {
		b = append(b, " helo=<"...)
		b = append(b, e.Helo...)
		b = append(b, '>')
	}
	return b
}

func appendDelivery(b []byte, e *event.Delivery) []byte {
	b = append(b, e.QueueID...)
	b = append(b, ": to=<"...)
	b = append(b, e.To...)
	b = append(b, '>')
	if e.OrigTo != "" {
		b = append(b, ", orig_to=<"...)
		b = append(b, e.OrigTo...)
		b = append(b, '>')
	}
	b = append(b, ", relay="...)
	if e.Relay == "" {
		b = append(b, "none"...)
	} else {
		b = append(b, e.Relay...)
	}
	b = append(b, ", delay="...)
	b = appendSecs(b, e.Delay)
	if e.Delays != [4]time.Duration{} {
		b = append(b, ", delays="...)
		for i, d := range e.Delays {
			if i > 0 {
				b = append(b, '/')
			}
			b = appendSecs(b, d)
		}
	}
	if e.DSN != "" {
		b = append(b, ", dsn="...)
		b = append(b, e.DSN...)
	}
	b = append(b, ", status="...)
	b = append(b, e.Status.String()...)
	if e.Text != "" {
		b = append(b, " ("...)
		b = append(b, e.Text...)
		b = append(b, ')')
	}
	return b
}

// appendSecs prints a delay as Postfix does: two decimals below 10 s, one
// below 100 s, whole seconds above, trailing zeros dropped.
func appendSecs(b []byte, d time.Duration) []byte {
	s := d.Seconds()
	if s < 0 {
		s = 0
	}
	prec := 2
	switch {
	case s >= 100:
		prec = 0
	case s >= 10:
		prec = 1
	}
	start := len(b)
	b = strconv.AppendFloat(b, s, 'f', prec, 64)
	if prec > 0 {
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
		if b[len(b)-1] == '.' {
			b = b[:len(b)-1]
		}
	}
	if len(b) == start {
		b = append(b, '0')
	}
	return b
}

func appendAdmin(b []byte, e *event.Admin) []byte {
	if e.QueueID == "ALL" || e.QueueID == "" {
		switch e.Action {
		case event.Hold:
			b = append(b, "Placed on hold: "...)
		case event.Release:
			b = append(b, "Released from hold: "...)
		case event.Delete:
			b = append(b, "Deleted: "...)
		default:
			b = append(b, "Flushed: "...)
		}
		b = strconv.AppendInt(b, int64(e.Count), 10)
		if e.Count == 1 {
			return append(b, " message"...)
		}
		return append(b, " messages"...)
	}
	b = append(b, e.QueueID...)
	switch e.Action {
	case event.Hold:
		return append(b, ": placed on hold"...)
	case event.Release:
		return append(b, ": released from hold"...)
	case event.Delete:
		return append(b, ": removed"...)
	}
	return append(b, ": flushed"...)
}

func appendLoginDisconnect(b []byte, e *event.LoginDisconnect) []byte {
	b = append(b, e.Source()...)
	b = append(b, ": Disconnected"...)
	if e.Reason != "" {
		b = append(b, ": "...)
		b = append(b, e.Reason...)
	}
	b = append(b, " ("...)
	switch {
	case e.Failures > 0:
		b = append(b, "auth failed, "...)
		b = strconv.AppendInt(b, int64(e.Failures), 10)
		b = append(b, " attempts in "...)
		b = strconv.AppendInt(b, int64(e.Duration), 10)
		b = append(b, " secs"...)
	case e.Refused:
		b = append(b, "tried to use disallowed plaintext auth"...)
	default:
		b = append(b, "no auth attempts in "...)
		b = strconv.AppendInt(b, int64(e.Duration), 10)
		b = append(b, " secs"...)
	}
	b = append(b, "): "...)
	return appendClient(b, e.User, e.Method, e.RIP, e.LIP, 0, e.TLS)
}

// appendClient writes Dovecot's "user=<u>, method=M, rip=.., lip=..,
// mpid=N, TLS": user and method only once a login was tried, mpid only
// after login, "secured" for plaintext over loopback.
func appendClient(b []byte, user, method string, rip, lip netip.Addr, mpid int, tls bool) []byte {
	if user != "" {
		b = append(b, "user=<"...)
		b = append(b, user...)
		b = append(b, ">, method="...)
		b = append(b, method...)
		b = append(b, ", "...)
	}
	b = append(b, "rip="...)
	b = appendIP(b, rip)
	b = append(b, ", lip="...)
	b = appendIP(b, lip)
	if mpid > 0 {
		b = append(b, ", mpid="...)
		b = strconv.AppendInt(b, int64(mpid), 10)
	}
	switch {
	case tls:
		b = append(b, ", TLS"...)
	case rip.IsLoopback():
		b = append(b, ", secured"...)
	}
	return b
}

func appendIP(b []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return append(b, "unknown"...)
	}
	return ip.Unmap().AppendTo(b)
}
