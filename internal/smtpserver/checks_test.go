package smtpserver

import (
	"context"
	"mailwarden/internal/mime"
	"strings"
	"testing"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/policy"
)

// The engine asks each stage's list and applies what it says: a refusal
// is the reply (logged as Postfix does), side effects and a discard reach
// the Deliverer in the envelope.
func TestCheckStages(t *testing.T) {
	say := func(name string, v policy.Verdict) policy.Check {
		return policy.Func(name, func(context.Context, *policy.Request) policy.Verdict { return v })
	}
	byHelo := policy.Func("check_helo_access", func(_ context.Context, r *policy.Request) policy.Verdict {
		if r.Env.Helo == "bad.example" {
			return policy.Verdict{Action: policy.Reject, Code: 550, Enhanced: "5.7.1", Text: "<bad.example>: Helo command rejected: go away"}
		}
		return policy.Verdict{}
	})
	lists := func(ls *policy.Lists) func(*Options) {
		return func(o *Options) {
			o.Lists = func(cfg *config.Config) *policy.Lists {
				d := policy.Defaults("smtp", cfg, policy.Deps{})
				ls.Relay, ls.Recipient = d.Relay, d.Recipient
				return ls
			}
		}
	}
	t.Run("delayed HELO reject comes at RCPT", func(t *testing.T) {
		h := start(t, nil, lists(&policy.Lists{DelayReject: true, Helo: policy.List{byHelo}}))
		c := dial(t, h.addr)
		c.expect("", "220 ")
		c.expect("EHLO bad.example", "250-")
		c.expect("MAIL FROM:<s@sender.example>", "250")
		c.expect("RCPT TO:<alice@example.org>", "550 5.7.1 <bad.example>: Helo command rejected: go away")
		h.waitLog(t, "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.7.1 <bad.example>: Helo command rejected: go away; from=<s@sender.example> to=<alice@example.org> proto=ESMTP helo=<bad.example>")
	})
	t.Run("immediate HELO reject", func(t *testing.T) {
		h := start(t, nil, lists(&policy.Lists{Helo: policy.List{byHelo}}))
		c := dial(t, h.addr)
		c.expect("", "220 ")
		c.expect("EHLO bad.example", "550 5.7.1 ")
	})
	t.Run("prepend, hold and discard reach the envelope", func(t *testing.T) {
		h := start(t, nil, lists(&policy.Lists{
			Sender:    policy.List{say("check_sender_access", policy.Verdict{Action: policy.Prepend, Arg: "X-Checked: yes"})},
			Data:      policy.List{say("check_data", policy.Verdict{Action: policy.Hold, Arg: "look at it"})},
			EndOfData: policy.List{say("body_checks", policy.Verdict{Action: policy.Discard, Arg: "spam"})},
		}))
		c := greet(t, h.addr)
		if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
			t.Fatalf("DATA: %q", got)
		}
		m := h.del.delivered()[0]
		var acts []string
		for _, v := range m.env.Verdicts {
			acts = append(acts, v.Stage+":"+v.Check+":"+v.Action)
		}
		if strings.Join(acts, " ") != "mail:check_sender_access:prepend data:check_data:hold end-of-data:body_checks:discard" {
			t.Errorf("verdicts %v", acts)
		}
		if len(m.env.Header) != 1 || m.env.Header[0].Field != "X-Checked: yes" {
			t.Errorf("header edits %+v", m.env.Header)
		}
	})
	t.Run("end-of-data reject", func(t *testing.T) {
		h := start(t, nil, lists(&policy.Lists{
			EndOfData: policy.List{say("body_checks", policy.Verdict{Action: policy.Reject, Code: 550, Enhanced: "5.7.1", Text: "no thanks"})},
		}))
		c := greet(t, h.addr)
		if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody); got != "550 5.7.1 no thanks" {
			t.Fatalf("DATA: %q", got)
		}
		if len(h.del.delivered()) != 0 {
			t.Fatal("delivered")
		}
		h.waitLog(t, ": reject: END-OF-MESSAGE from unknown[127.0.0.1]: 550 5.7.1 no thanks; from=<s@sender.example> proto=ESMTP helo=<client.example>")
	})
}

// REDIRECT replaces the recipients, BCC adds one, as Postfix's access
// actions do.
func TestRedirectAndBCC(t *testing.T) {
	say := func(name string, v policy.Verdict) policy.Check {
		return policy.Func(name, func(context.Context, *policy.Request) policy.Verdict { return v })
	}
	h := start(t, nil, func(o *Options) {
		o.Lists = func(cfg *config.Config) *policy.Lists {
			d := policy.Defaults("smtp", cfg, policy.Deps{})
			d.Sender = policy.List{say("check_sender_access", policy.Verdict{Action: policy.BCC, Arg: "bob@example.org"})}
			d.DelayReject = false
			return d
		}
	})
	c := greet(t, h.addr)
	if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("DATA: %q", got)
	}
	var got []string
	for _, r := range h.del.delivered()[0].rcpts {
		got = append(got, r.Dest.Address)
	}
	if strings.Join(got, ",") != "alice@example.org,bob@example.org" {
		t.Errorf("BCC: delivered to %v", got)
	}
	h2 := start(t, nil, func(o *Options) {
		o.Lists = func(cfg *config.Config) *policy.Lists {
			d := policy.Defaults("smtp", cfg, policy.Deps{})
			d.Data = policy.List{say("check_data", policy.Verdict{Action: policy.Redirect, Arg: "bob@example.org"})}
			return d
		}
	})
	c = greet(t, h2.addr)
	if got := c.send("s@sender.example", []string{"alice@example.org"}, simpleBody); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("DATA: %q", got)
	}
	if r := h2.del.delivered()[0].rcpts; len(r) != 1 || r[0].Dest.Address != "bob@example.org" {
		t.Errorf("REDIRECT: delivered to %+v", r)
	}
}

// An end-of-data check reads the message as parsed MIME from the spool.
func TestContentCheckSeesMIME(t *testing.T) {
	banned := policy.Func("banned_files", func(_ context.Context, r *policy.Request) policy.Verdict {
		if _, ok := r.Body.(*mime.SharedBody); !ok {
			return policy.Verdict{Action: policy.Defer, Code: 451, Enhanced: "4.3.0", Text: "no shared body"}
		}
		m, err := mime.ReadBody(r.Body, 1<<20)
		if err != nil {
			return policy.Verdict{Action: policy.Defer, Code: 451, Enhanced: "4.3.0", Text: err.Error()}
		}
		bad := false
		m.Walk(func(p *mime.Part, _ int) bool {
			if strings.HasSuffix(strings.ToLower(p.Filename()), ".exe") {
				bad = true
			}
			return !bad
		})
		if bad {
			return policy.Verdict{Action: policy.Reject, Code: 554, Enhanced: "5.7.1", Text: "banned attachment"}
		}
		return policy.Verdict{}
	})
	h := start(t, nil, func(o *Options) {
		o.Lists = func(cfg *config.Config) *policy.Lists {
			d := policy.Defaults("smtp", cfg, policy.Deps{})
			d.EndOfData = policy.List{banned}
			return d
		}
	})
	msg := func(name string) string {
		return "From: s@sender.example\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
			"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''" + name + "\r\n\r\nAAAA\r\n--b--\r\n"
	}
	c := greet(t, h.addr)
	if got := c.send("s@sender.example", []string{"alice@example.org"}, msg("setup%2Eexe")); got != "554 5.7.1 banned attachment" {
		t.Errorf("exe: %q", got)
	}
	if got := c.send("s@sender.example", []string{"alice@example.org"}, msg("report.pdf")); !strings.HasPrefix(got, "250 2.0.0 Ok") {
		t.Errorf("pdf: %q", got)
	}
}

// A client that hangs up while a RCPT check waits (a tarpit) cancels the
// check's context, so its session ends at once instead of at the end of
// the wait, and the check knows the client left; one that stays gets its
// answer when the check ends.
func TestHangUpCancelsCheck(t *testing.T) {
	release := make(chan struct{})
	cancelled := make(chan struct{}, 2)
	tarpit := policy.Func("tarpit", func(ctx context.Context, r *policy.Request) policy.Verdict {
		select {
		case <-ctx.Done():
			cancelled <- struct{}{}
		case <-release:
		}
		return policy.Verdict{}
	})
	h := start(t, nil, func(o *Options) {
		o.Lists = func(cfg *config.Config) *policy.Lists {
			d := policy.Defaults("smtp", cfg, policy.Deps{})
			d.Recipient = append(policy.List{tarpit}, d.Recipient...)
			return d
		}
	})
	// The client that hangs up.
	c := greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	if err := c.tp.PrintfLine("RCPT TO:<alice@example.org>"); err != nil {
		t.Fatal(err)
	}
	c.conn.Close()
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second):
		t.Fatal("the check was not cancelled when its client hung up")
	}
	// The client that waits, with a command pipelined behind RCPT: the
	// unread command is not taken for a hang-up.
	c = greet(t, h.addr)
	c.expect("MAIL FROM:<s@sender.example>", "250")
	if err := c.tp.PrintfLine("RCPT TO:<alice@example.org>\r\nNOOP"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // past two polls
	select {
	case <-cancelled:
		t.Fatal("a waiting client's check was cancelled")
	default:
	}
	close(release)
	c.expect("", "250 ")
	c.expect("", "250 ")
}
