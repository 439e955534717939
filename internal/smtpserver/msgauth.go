package smtpserver

import (
	"io"
	"strings"

	"mailwarden/internal/delivery"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
	"mailwarden/internal/msgauth"
	"mailwarden/internal/policy"
)

// authenticate runs message authentication on an accepted message, after
// the end-of-data checks and before delivery: inbound mail on the MX
// service is verified (Authentication-Results, DMARC's verdict), mail from
// an authenticated user, mynetworks or the local pickup is signed, and
// mail forwarded off this host is ARC-sealed. The edits go into
// env.Header; a reply is returned when DMARC refuses the message.
func (c *conn) authenticate(t *tx, env *envelope.Envelope, trace []byte, body policy.Body) (reply, bool) {
	src := c.srv.o.MsgAuth
	if src == nil {
		return reply{}, true
	}
	a, err := src(c.cfg)
	if err != nil {
		c.srv.log.Error(t.id + ": msgauth: " + err.Error())
	}
	if a == nil {
		return reply{}, true
	}
	trusted := c.user != "" || c.mynets || c.srv.mode == Pickup
	m := &msgauth.Message{Env: env, Trusted: trusted, Inbound: c.srv.mode == MX && !trusted}
	for _, r := range t.routed {
		if r.Dest.Kind == directory.Remote && !strings.EqualFold(r.Dest.Address, r.Rcpt.Address) {
			m.Forwarded = true
		}
	}
	m.Content = func() (io.Reader, error) {
		b, err := delivery.Compose(env, trace, body)
		if err != nil {
			return nil, err
		}
		return b.Reader(), nil
	}
	ctx, done := c.checkContext()
	err = a.Run(ctx, m)
	done()
	if err != nil {
		c.srv.log.Warn(t.id + ": msgauth: " + err.Error())
	}
	switch m.Action {
	case msgauth.Reject, msgauth.Defer:
		return reply{code: m.Reply.Code, enh: m.Reply.Enhanced, text: m.Reply.Text, check: "dmarc"}, false
	case msgauth.Quarantine:
		env.Verdicts = append(env.Verdicts, envelope.Verdict{Stage: "end-of-data", Check: "dmarc",
			Action: "quarantine", Reply: m.Folder})
		c.srv.log.Info(t.id + ": quarantine: dmarc into " + m.Folder)
	}
	return reply{}, true
}
