package policy

import (
	"context"
	"errors"
	"strings"

	"mailwarden/internal/config"
	"mailwarden/internal/msgauth/spf"
)

// SPFFunc returns the SPF outcome of the transaction a Request belongs
// to, computed on the first call and the same afterwards (Request.SPF).
type SPFFunc func(ctx context.Context) *spf.Outcome

func init() {
	factories["check_spf"] = func(b *builder, k Kind, args []string) (Check, error) {
		if len(args) > 0 {
			return nil, errors.New("check_spf takes no argument")
		}
		return CheckSPF(b.cfg.SPF), nil
	}
}

// CheckSPF is the check_spf restriction: policyd-spf's decisions on the
// transaction's SPF outcome (Request.SPF) under [spf] helo_reject,
// mail_from_reject, permerror_reject and temperror_defer. The HELO
// identity is judged first, then MAIL FROM; a refusal reads as
// policyd-spf's ("550 5.7.23 Message rejected due to: <explanation>.
// Please see ..."). A request without SPF (no transaction yet, a service
// other than MX, [spf] enable = false) gets no opinion.
func CheckSPF(cfg config.SPF) Check {
	return Func("check_spf", func(ctx context.Context, r *Request) Verdict {
		if r.SPF == nil {
			return Verdict{}
		}
		o := r.SPF(ctx)
		if o == nil || o.Skipped != "" {
			return Verdict{}
		}
		null := o.Sender == ""
		if v := o.HELO; v != nil && !(cfg.HeloReject == "null" && !null) {
			if d := spfDecide(cfg, cfg.HeloReject, v); d.Action != Dunno {
				return spfVerdict(d, "helo", o.HELOName, o, r)
			}
		}
		if v := o.MailFrom; v != nil && !null {
			if d := spfDecide(cfg, cfg.MailFromReject, v); d.Action != Dunno {
				return spfVerdict(d, "mfrom", o.Sender, o, r)
			}
		}
		return Verdict{}
	})
}

// CheckSPFPrepend is check_spf as a policy service answers it
// (mailwarden policyd): CheckSPF's decisions, and where it says nothing,
// with [spf] header_type = spf, the Received-SPF field policyd-spf asks
// Postfix to prepend, once per transaction: on its first recipient (the
// SMTP server writes the field itself at end of data instead).
func CheckSPFPrepend(cfg config.SPF) Check {
	base := CheckSPF(cfg)
	return Func("check_spf", func(ctx context.Context, r *Request) Verdict {
		v := base.Check(ctx, r)
		if v.Action != Dunno || cfg.HeaderType != "spf" || r.SPF == nil || r.Stage != Rcpt ||
			(r.Env != nil && len(r.Env.Recipients) > 0) {
			return v
		}
		receiver := r.Recipient
		if at := strings.LastIndexByte(receiver, '@'); at >= 0 {
			receiver = receiver[at+1:]
		}
		f := r.SPF(ctx).ReceivedSPF(receiver)
		if f == "" || strings.ContainsAny(f, "\r\n") {
			return v
		}
		return Verdict{Action: Prepend, Arg: f}
	})
}

// spfDecide is policyd-spf's table of results to actions for one
// identity under its *_reject setting (_get_resultcodes): the verdict
// without its text.
func spfDecide(cfg config.SPF, policy string, v *spf.Verdict) Verdict {
	switch policy {
	case "false", "no_check":
		return Verdict{} // record only
	}
	refused := false
	switch v.Result {
	case spf.Fail:
		refused = true // fail, softfail, spf_not_pass, null
	case spf.SoftFail:
		refused = policy == "softfail" || policy == "spf_not_pass"
	case spf.Neutral:
		refused = policy == "spf_not_pass"
	case spf.PermError:
		if cfg.PermErrorReject {
			return Verdict{Action: Reject, Code: 550, Enhanced: "5.7.24"}
		}
	case spf.TempError:
		if cfg.TempErrorDefer {
			// policyd-spf answers defer_if_permit 4.7.24.
			return Verdict{Action: DeferIfPermit, Code: 450, Enhanced: "4.7.24"}
		}
	}
	if refused {
		return Verdict{Action: Reject, Code: 550, Enhanced: "5.7.23"}
	}
	return Verdict{}
}

// spfVerdict adds policyd-spf's text (its default Reason_Message) to a
// decision.
func spfVerdict(d Verdict, scope, id string, o *spf.Outcome, r *Request) Verdict {
	v := o.MailFrom
	if scope == "helo" {
		v = o.HELO
	}
	what := "rejected"
	if d.Action != Reject {
		what = "deferred"
	}
	rcpt := "none"
	if r.Recipient != "" {
		rcpt = r.Recipient
		if at := strings.LastIndexByte(rcpt, '@'); at >= 0 {
			rcpt = rcpt[at+1:]
		}
	}
	d.Text = "Message " + what + " due to: " + v.Comment() + ". Please see http://www.openspf.net/Why?s=" + scope +
		";id=" + id + ";ip=" + o.IP.String() + ";r=" + rcpt
	return d
}

// SPFPass is the greylist's SPF bypass (greylist.Options.SPFPass): true
// when the transaction's SPF outcome (Request.SPF) is a pass of MAIL FROM
// (of HELO for the null sender).
func SPFPass(ctx context.Context, r *Request) (bool, string) {
	if r.SPF == nil {
		return false, ""
	}
	out := r.SPF(ctx)
	if out == nil || out.Skipped != "" {
		return false, ""
	}
	v := out.MailFrom
	if v == nil {
		v = out.HELO
	}
	if v != nil && v.Result == spf.Pass {
		return true, "SPF pass for " + v.Domain
	}
	return false, ""
}
