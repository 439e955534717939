package policy

import (
	"context"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/directory"
	"mailwarden/internal/envelope"
)

func TestListSemantics(t *testing.T) {
	ctx := context.Background()
	say := func(name string, v Verdict) Check {
		return Func(name, func(context.Context, *Request) Verdict { return v })
	}
	dunno := say("dunno", Verdict{})
	permit := say("ok", Verdict{Action: Permit})
	rej := say("no", Verdict{Action: Reject, Code: 554, Enhanced: "5.7.1", Text: "no"})
	def := say("later", Verdict{Action: Defer, Code: 450, Enhanced: "4.7.1", Text: "later"})
	prep := say("tag", Verdict{Action: Prepend, Arg: "X-Tag: 1"})
	hold := say("hold", Verdict{Action: Hold})
	for _, tc := range []struct {
		name    string
		ls      Lists
		want    Action
		check   string
		effects int
	}{
		{"empty", Lists{}, Dunno, "", 0},
		{"dunno goes on", Lists{Recipient: List{dunno, rej}}, Reject, "no", 0},
		{"permit ends its list only", Lists{Relay: List{permit, rej}, Recipient: List{def}}, Defer, "later", 0},
		{"permit in the last list", Lists{Relay: List{dunno}, Recipient: List{permit, rej}}, Permit, "ok", 0},
		{"reject ends everything", Lists{Relay: List{rej}, Recipient: List{permit}}, Reject, "no", 0},
		{"side effects go on", Lists{Recipient: List{prep, hold, rej}}, Reject, "no", 2},
		{"delayed client list at RCPT", Lists{DelayReject: true, Client: List{rej}}, Reject, "no", 0},
		{"client permit does not skip the relay list", Lists{DelayReject: true, Client: List{permit}, Relay: List{rej}}, Reject, "no", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.ls.AtRcpt(ctx, &Request{})
			if d.Action != tc.want || d.Check != tc.check || len(d.Effects) != tc.effects {
				t.Errorf("got %v by %q with %d effects, want %v by %q with %d", d.Action, d.Check, len(d.Effects), tc.want, tc.check, tc.effects)
			}
		})
	}
	ls := Lists{Client: List{rej}}
	if d := ls.AtConnect(ctx, &Request{}); !d.Refused() || d.Reply() != "554 5.7.1 no" {
		t.Errorf("undelayed client list: %+v", d)
	}
	ls.DelayReject = true
	if d := ls.AtConnect(ctx, &Request{}); d.Refused() {
		t.Error("delayed client list ran at connect")
	}
}

func TestDefaults(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	foreign := &directory.Resolution{Class: directory.Foreign, Destinations: []directory.Destination{{Kind: directory.Remote, Address: "x@far.example"}}}
	unknown := &directory.Resolution{Class: directory.Virtual}
	local := &directory.Resolution{Class: directory.Virtual, Destinations: []directory.Destination{{Kind: directory.Local, Address: "a@here.example", Mailbox: directory.Mailbox{Username: "a@here.example"}}}}
	full := func(context.Context, directory.Mailbox, int64) (bool, error) { return true, nil }
	d := Deps{QuotaFull: full}
	for _, tc := range []struct {
		service string
		req     Request
		want    string
	}{
		{"smtp", Request{Recipient: "x@far.example", Resolution: foreign}, "554 5.7.1 <x@far.example>: Relay access denied"},
		{"smtp", Request{Recipient: "x@far.example", Resolution: foreign, MyNetworks: true}, ""},
		{"smtp", Request{Recipient: "n@here.example", Resolution: unknown}, "550 5.1.1 <n@here.example>: Recipient address rejected: User unknown in virtual mailbox table"},
		{"smtp", Request{Recipient: "a@here.example", Resolution: local}, "552 5.2.2 <a@here.example>: Mailbox full"},
		{"submission", Request{Recipient: "x@far.example", Resolution: foreign, Env: &envelope.Envelope{AuthUser: "a@here.example"}}, ""},
		{"submission", Request{Recipient: "x@far.example", Resolution: foreign}, "554 5.7.1 <x@far.example>: Relay access denied"},
		{"pickup", Request{Recipient: "x@far.example", Resolution: foreign}, ""},
		{"pickup", Request{Recipient: "root@" + cfg.Hostname, Resolution: foreign}, "550 5.1.1 "},
	} {
		got := Defaults(tc.service, cfg, d).AtRcpt(ctx, &tc.req).Reply()
		if tc.want == "" && got != "" || tc.want != "" && (len(got) < len(tc.want) || got[:len(tc.want)] != tc.want) {
			t.Errorf("%s %s: got %q, want %q", tc.service, tc.req.Recipient, got, tc.want)
		}
	}
	sub := Defaults("submission", cfg, d)
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{}, "530 5.7.0 Must issue a STARTTLS command first"},
		{Request{TLS: true}, "530 5.7.0 Authentication required"},
		{Request{TLS: true, MyNetworks: true}, ""},
		{Request{TLS: true, Env: &envelope.Envelope{AuthUser: "a@here.example"}}, ""},
	} {
		if got := sub.AtMail(ctx, &tc.req).Reply(); got != tc.want {
			t.Errorf("submission MAIL %+v: got %q, want %q", tc.req, got, tc.want)
		}
	}
}

// BenchmarkEmptyLists is the cost, per message, of running an empty
// check list at every stage (connect, HELO, MAIL, one RCPT, DATA, end of
// data): what the pipeline's seams cost when nothing is configured.
func BenchmarkEmptyLists(b *testing.B) {
	ctx := context.Background()
	ls := &Lists{}
	r := &Request{}
	b.ReportAllocs()
	for b.Loop() {
		ls.AtConnect(ctx, r)
		ls.AtHelo(ctx, r)
		ls.AtMail(ctx, r)
		ls.AtRcpt(ctx, r)
		ls.AtData(ctx, r)
		ls.AtEndOfData(ctx, r)
	}
}

// BenchmarkDefaultRcpt is the MX default lists for one local recipient.
func BenchmarkDefaultRcpt(b *testing.B) {
	ctx := context.Background()
	ls := Defaults("smtp", config.Default(), Deps{QuotaFull: func(context.Context, directory.Mailbox, int64) (bool, error) { return false, nil }})
	local := &directory.Resolution{Class: directory.Virtual, Destinations: []directory.Destination{{Kind: directory.Local, Address: "a@here.example"}}}
	r := &Request{Recipient: "a@here.example", Resolution: local}
	b.ReportAllocs()
	for b.Loop() {
		ls.AtRcpt(ctx, r)
	}
}
