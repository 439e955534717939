package policy

import (
	"context"
	"io"
	"net/netip"
	"strconv"

	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
)

// Stage is an SMTP stage a check list runs at.
type Stage int

// The stages, in the order a session meets them.
const (
	Connect Stage = iota
	Helo
	Mail
	Rcpt
	Data      // the DATA or first BDAT command, before the body
	EndOfData // the body is spooled, before the final reply
)

var stageNames = [...]string{"connect", "helo", "mail", "rcpt", "data", "end-of-data"}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "stage" + strconv.Itoa(int(s))
}

// Action is what a Verdict asks for (Postfix access(5) actions).
type Action int

const (
	// Dunno: no opinion; the list goes on.
	Dunno Action = iota
	// Permit (OK): this list accepts; evaluation goes on with the next list.
	Permit
	// Reject: a 5xx (or the code given) ends the evaluation.
	Reject
	// Defer: a 4xx ends the evaluation.
	Defer
	// Discard: accept and drop the whole message; ends the evaluation.
	Discard
	// Hold: the message goes to the hold queue; the list goes on.
	Hold
	// Prepend: Arg is a header field to add; the list goes on.
	Prepend
	// Redirect: Arg replaces every recipient; the list goes on.
	Redirect
	// BCC: Arg is added as a recipient; the list goes on.
	BCC
	// Filter: Arg names the next hop ("transport:destination"); the list goes on.
	Filter
	// Warn: Arg is logged; the list goes on.
	Warn
	// DeferIfPermit (defer_if_permit): should the stage end in an
	// explicit or implicit permit, defer instead, with this verdict.
	DeferIfPermit
	// DeferIfReject (defer_if_reject): a later reject in this stage
	// becomes a defer (450).
	DeferIfReject
	// WarnIfReject (warn_if_reject): the next check's reject or defer is
	// only logged, as a warning.
	WarnIfReject
)

var actionNames = [...]string{"dunno", "permit", "reject", "defer", "discard", "hold", "prepend", "redirect", "bcc", "filter", "warn",
	"defer_if_permit", "defer_if_reject", "warn_if_reject"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action" + strconv.Itoa(int(a))
}

// final reports whether a ends the evaluation of a list.
func (a Action) final() bool { return a == Permit || a == Reject || a == Defer || a == Discard }

// Verdict is what one check says.
type Verdict struct {
	Action   Action
	Code     int    // Reject, Defer: the reply code (550, 451...)
	Enhanced string // "5.7.1"
	Text     string // the reply text
	Arg      string // Prepend: the field; Redirect, BCC: the address; Filter: the next hop; Hold, Discard, Warn: a reason
	Check    string // the check that said it (List.Eval fills it in)
}

// Reply formats a Reject or Defer verdict as an SMTP reply line.
func (v Verdict) Reply() string {
	if v.Code == 0 {
		return ""
	}
	s := strconv.Itoa(v.Code)
	if v.Enhanced != "" {
		s += " " + v.Enhanced
	}
	if v.Text != "" {
		s += " " + v.Text
	}
	return s
}

// Record is the envelope's note of a verdict.
func (v Verdict) Record(st Stage) envelope.Verdict {
	return envelope.Verdict{Stage: st.String(), Check: v.Check, Action: v.Action.String(), Reply: v.Reply()}
}

// Request is what a check looks at. The engine fills in what the stage
// knows; later stages know more.
type Request struct {
	Stage Stage
	// Env holds the client facts and the transaction so far (sender,
	// accepted recipients).
	Env *envelope.Envelope
	// Service is "smtp", "submission", "submissions" or "pickup".
	Service string
	// MyNetworks reports whether the client is in mynetworks.
	MyNetworks bool
	// TLS reports whether the session is encrypted (or the client is
	// otherwise trusted with plaintext, as loopback may be).
	TLS bool
	// Sender is the MAIL FROM address (Mail stage and later).
	Sender string
	// Recipient is the address being checked at the Rcpt stage, and
	// Resolution where it goes.
	Recipient  string
	Resolution *directory.Resolution
	// Size is the declared SIZE at MAIL, then the spooled size.
	Size int64
	// Body is the spooled message (EndOfData only): the message as
	// received, header first, without the trace the server adds.
	Body Body
	// DNSTempFail reports that the client-name lookup failed for a
	// temporary reason (reject_unknown_* then answers 450).
	DNSTempFail bool
	// Pipelined reports that the client talked before the greeting or
	// sent commands ahead without PIPELINING (reject_unauth_pipelining).
	Pipelined bool
	// Instance names the mail transaction: the same for every stage of
	// one MAIL ... end of data, another for the next (Postfix's policy
	// "instance" attribute); "" outside a transaction.
	Instance string
	// Server is the local address and port the client connected to.
	Server netip.AddrPort
	// SPF returns the transaction's SPF outcome (HELO and MAIL FROM),
	// computed once, when first asked, and kept for the transaction; nil
	// outside a transaction and where SPF is not checked (services other
	// than MX, [spf] enable = false).
	SPF SPFFunc
}

// Body is a spooled message a check may read as often as it needs.
type Body interface {
	Reader() io.Reader
	Size() int64
}

// Check is one named check.
type Check interface {
	Name() string
	Check(ctx context.Context, r *Request) Verdict
}

// Func makes a Check of a function.
func Func(name string, f func(ctx context.Context, r *Request) Verdict) Check {
	return funcCheck{name, f}
}

type funcCheck struct {
	name string
	f    func(context.Context, *Request) Verdict
}

func (c funcCheck) Name() string                                  { return c.name }
func (c funcCheck) Check(ctx context.Context, r *Request) Verdict { return c.f(ctx, r) }

// List is an ordered restriction list.
type List []Check

// Eval runs the list in order with Postfix's semantics: a final verdict
// (permit, reject, defer, discard) ends it and is returned; side effects
// (prepend, hold, redirect, bcc, filter, warn) are passed to effect, in
// order, and the list goes on. An empty list, or one that runs out,
// returns Dunno. The modifiers warn_if_reject and defer_if_reject act on
// the checks after them in the list; defer_if_permit needs the whole
// stage, so Eval returns it only when the list ends in a permit.
func (l List) Eval(ctx context.Context, r *Request, effect func(Verdict)) Verdict {
	var st evalState
	v := l.eval(ctx, r, &st, effect)
	if st.deferIfPermit != nil && (v.Action == Permit || v.Action == Dunno) {
		return *st.deferIfPermit
	}
	return v
}

// evalState is what the modifiers remember during one stage.
type evalState struct {
	warnNext      bool
	deferIfReject bool
	deferIfPermit *Verdict
}

func (l List) eval(ctx context.Context, r *Request, st *evalState, effect func(Verdict)) Verdict {
	for _, c := range l {
		v := c.Check(ctx, r)
		if v.Check == "" {
			v.Check = c.Name()
		}
		warn := st.warnNext
		st.warnNext = false
		switch v.Action {
		case Dunno:
			continue
		case WarnIfReject:
			st.warnNext = true
			continue
		case DeferIfReject:
			st.deferIfReject = true
			continue
		case DeferIfPermit:
			if st.deferIfPermit == nil {
				d := v
				d.Action = Defer
				st.deferIfPermit = &d
			}
			continue
		}
		if warn && (v.Action == Reject || v.Action == Defer) {
			v.Action, v.Arg = Warn, v.Reply()
		}
		if st.deferIfReject && v.Action == Reject {
			v.Action, v.Code, v.Enhanced = Defer, 450, "4.7.1"
		}
		if v.Action.final() {
			return v
		}
		if effect != nil {
			effect(v)
		}
	}
	return Verdict{}
}

// Lists are the restriction lists of one SMTP service, by Postfix's names:
// Client is smtpd_client_restrictions, Helo smtpd_helo_restrictions,
// Sender smtpd_sender_restrictions, Relay smtpd_relay_restrictions,
// Recipient smtpd_recipient_restrictions, Data smtpd_data_restrictions
// and EndOfData smtpd_end_of_data_restrictions.
type Lists struct {
	Client, Helo, Sender, Relay, Recipient, Data, EndOfData List
	// DelayReject is smtpd_delay_reject: client, HELO and sender lists run
	// at RCPT instead of their own stage, so a rejection names the
	// recipient and a client cannot tell why it was refused early.
	DelayReject bool
	// HeloRequired is smtpd_helo_required: MAIL before HELO/EHLO is
	// refused.
	HeloRequired bool
	// SoftBounce is soft_bounce: a 5xx decision becomes a 4xx.
	SoftBounce bool
	// Postscreen is the connect-time DNSBL score ([postscreen]); nil
	// when no site is configured. The engine runs it before the
	// greeting.
	Postscreen *Postscreen
}

// soft applies soft_bounce to a stage's decision: a reject (5xx, X.Y.Z
// to 4.Y.Z) becomes a defer, so the client keeps the mail and retries.
func (ls *Lists) soft(d Decision) Decision {
	if ls.SoftBounce && d.Action == Reject && d.Code/100 == 5 {
		d.Action, d.Code = Defer, d.Code-100
		if d.Enhanced != "" {
			d.Enhanced = "4" + d.Enhanced[1:]
		}
	}
	return d
}

// Decision is the outcome of a stage: the final verdict (Dunno or
// Permit when the stage passed) and the side effects collected.
type Decision struct {
	Verdict
	Effects []Verdict
}

// Refused reports whether the stage ended in reject or defer.
func (d Decision) Refused() bool { return d.Action == Reject || d.Action == Defer }

// run evaluates lists in order: Permit ends one list and goes on to the
// next; reject, defer and discard end everything.
func run(ctx context.Context, r *Request, lists ...List) Decision {
	var d Decision
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return d
	}
	var st evalState
	effect := func(v Verdict) { d.Effects = append(d.Effects, v) }
	for _, l := range lists {
		v := l.eval(ctx, r, &st, effect)
		if v.Action == Dunno || v.Action == Permit {
			if v.Action == Permit {
				d.Verdict = v
			}
			continue
		}
		d.Verdict = v
		return d
	}
	if st.deferIfPermit != nil {
		// defer_if_permit: the stage would have passed.
		d.Verdict = *st.deferIfPermit
	}
	return d
}

// AtConnect runs the client list when it is not delayed.
func (ls *Lists) AtConnect(ctx context.Context, r *Request) Decision {
	if ls.DelayReject {
		return Decision{}
	}
	return ls.soft(run(ctx, r, ls.Client))
}

// AtHelo runs the HELO list when it is not delayed.
func (ls *Lists) AtHelo(ctx context.Context, r *Request) Decision {
	if ls.DelayReject {
		return Decision{}
	}
	return ls.soft(run(ctx, r, ls.Helo))
}

// AtMail runs the sender list when it is not delayed.
func (ls *Lists) AtMail(ctx context.Context, r *Request) Decision {
	if ls.DelayReject {
		return Decision{}
	}
	return ls.soft(run(ctx, r, ls.Sender))
}

// AtRcpt runs, for one recipient, the delayed client, HELO and sender
// lists, then the relay and recipient lists.
func (ls *Lists) AtRcpt(ctx context.Context, r *Request) Decision {
	if ls.DelayReject {
		return ls.soft(run(ctx, r, ls.Client, ls.Helo, ls.Sender, ls.Relay, ls.Recipient))
	}
	return ls.soft(run(ctx, r, ls.Relay, ls.Recipient))
}

// AtData runs the DATA list.
func (ls *Lists) AtData(ctx context.Context, r *Request) Decision {
	return ls.soft(run(ctx, r, ls.Data))
}

// AtEndOfData runs the end-of-data list.
func (ls *Lists) AtEndOfData(ctx context.Context, r *Request) Decision {
	return ls.soft(run(ctx, r, ls.EndOfData))
}

// Empty reports whether no list has a check (the engine may skip building
// Requests).
func (ls *Lists) Empty() bool {
	return len(ls.Client)+len(ls.Helo)+len(ls.Sender)+len(ls.Relay)+len(ls.Recipient)+len(ls.Data)+len(ls.EndOfData) == 0
}
