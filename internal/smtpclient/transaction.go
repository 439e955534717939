package smtpclient

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-smtp"
)

// transaction runs MAIL, RCPT and DATA. From MAIL on, the host's replies
// decide every recipient's Result; a lost connection before the end of
// DATA lets the caller try the next host.
func (s *session) transaction() ([]Result, sessFailure) {
	m := s.d.m
	c := s.c
	defer func() { _ = c.Quit() }()
	all := func(code int, enh, text string) []Result {
		return fill(m, Result{Code: code, Enhanced: enh, Text: text, Permanent: code >= 500,
			Relay: s.t.relay(), TLS: s.tls})
	}
	if max, ok := c.MaxMessageSize(); ok && max > 0 && m.Size > int64(max) {
		// RFC 1870 6.1: do not send what the server said it will refuse.
		return all(552, "5.3.4", "message size exceeds fixed limit of "+s.t.relay()), sessFailure{}
	}
	if ok, _ := c.Extension("SMTPUTF8"); m.SMTPUTF8 && !ok {
		// RFC 6531 3.2: the message cannot be delivered.
		return all(550, "5.6.7", "SMTPUTF8 is required, but was not offered by host "+s.t.relay()), sessFailure{}
	}
	mo := &smtp.MailOptions{Size: m.Size, UTF8: m.SMTPUTF8}
	if m.RetFull {
		mo.Return = smtp.DSNReturnFull
	}
	if printable(m.EnvID) {
		mo.EnvelopeID = m.EnvID
	}
	if err := c.Mail(m.From, mo); err != nil {
		f := s.replyFailure(err, "sending MAIL FROM")
		if !isReply(err) {
			return nil, f
		}
		return all(f.code, f.enhanced, f.text), sessFailure{}
	}

	res := all(0, "", "")
	var accepted []int
	for i, r := range m.Rcpts {
		err := c.Rcpt(r.Addr, rcptOptions(r))
		var se *smtp.SMTPError
		switch {
		case err == nil:
			accepted = append(accepted, i)
		case errors.As(err, &se):
			s.setReply(&res[i], se)
		default:
			return nil, s.replyFailure(err, "sending RCPT TO")
		}
	}
	if len(accepted) == 0 {
		return res, sessFailure{}
	}
	setAll := func(code int, enh, text string) {
		for _, i := range accepted {
			res[i].Code, res[i].Enhanced, res[i].Text, res[i].Permanent = code, enh, text, code >= 500
		}
	}

	w, err := c.Data()
	if err != nil {
		f := s.replyFailure(err, "sending DATA")
		if !isReply(err) {
			return nil, f
		}
		setAll(f.code, f.enhanced, f.text)
		return res, sessFailure{}
	}
	body, err := m.Body()
	if err == nil {
		_, err = io.Copy(w, &bodyReader{r: body})
		body.Close()
	}
	var be *bodyError
	switch {
	case errors.As(err, &be) || (err != nil && body == nil):
		// Abort without the final dot: the server discards the message.
		c.Close()
		setAll(451, "4.3.0", "cannot read the message: "+err.Error())
		return res, sessFailure{}
	case err != nil:
		return nil, s.replyFailure(err, "sending message body")
	}

	if s.d.hop.LMTP {
		s.lmtpReplies(w, res, accepted)
		return res, sessFailure{}
	}
	resp, err := w.CloseWithResponse()
	if err == nil {
		code, enh, text := parseOK(resp.StatusText)
		setAll(code, enh, text)
		return res, sessFailure{}
	}
	f := s.replyFailure(err, "sending end of data -- message may be sent more than once")
	setAll(f.code, f.enhanced, f.text)
	return res, sessFailure{}
}

// lmtpReplies reads LMTP's one reply per accepted recipient (RFC 2033 4.2).
func (s *session) lmtpReplies(w *smtp.DataCommand, res []Result, accepted []int) {
	resp, err := w.CloseWithLMTPResponse()
	var lerr smtp.LMTPDataError
	errors.As(err, &lerr)
	for _, i := range accepted {
		addr := s.d.m.Rcpts[i].Addr
		if r, ok := resp[addr]; ok {
			res[i].Code, res[i].Enhanced, res[i].Text = parseOK(r.StatusText)
		} else if se, ok := lerr[addr]; ok {
			s.setReply(&res[i], se)
		} else {
			res[i].Code, res[i].Enhanced = 451, "4.4.2"
			res[i].Text = fmt.Sprintf("lost connection with %s while reading LMTP replies -- message may be delivered more than once: %v", s.t.relay(), err)
		}
		res[i].Permanent = res[i].Code >= 500
	}
}

// isReply tells a server's reply from a local or network error.
func isReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

func (s *session) setReply(r *Result, se *smtp.SMTPError) {
	r.Code, r.Enhanced, r.Text, r.Permanent = se.Code, enhanced(se), se.Message, se.Code >= 500
}

// parseOK splits a 250 reply's text into its enhanced code and the rest.
func parseOK(text string) (int, string, string) {
	code, rest, ok := strings.Cut(text, " ")
	if ok && len(code) >= 5 && code[0] == '2' && code[1] == '.' {
		return 250, code, rest
	}
	return 250, "2.0.0", text
}

func rcptOptions(r Rcpt) *smtp.RcptOptions {
	o := &smtp.RcptOptions{}
	for _, n := range r.Notify {
		switch v := smtp.DSNNotify(strings.ToUpper(n)); v {
		case smtp.DSNNotifyNever, smtp.DSNNotifySuccess, smtp.DSNNotifyFailure, smtp.DSNNotifyDelayed:
			o.Notify = append(o.Notify, v)
		}
	}
	if len(o.Notify) > 1 && o.Notify[0] == smtp.DSNNotifyNever {
		o.Notify = nil // NEVER cannot be combined (RFC 3461 4.1)
	}
	if r.ORCPT == "" {
		return o
	}
	typ, addr, ok := strings.Cut(r.ORCPT, ";")
	if !ok {
		typ, addr = "rfc822", r.ORCPT
	}
	switch {
	case strings.EqualFold(typ, "rfc822") && printable(addr):
		o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeRFC822, addr
	case strings.EqualFold(typ, "utf-8") || strings.EqualFold(typ, "rfc822"):
		o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeUTF8, addr
	}
	return o
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// bodyReader marks read errors so they are told from write errors.
type bodyReader struct{ r io.Reader }

type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}
