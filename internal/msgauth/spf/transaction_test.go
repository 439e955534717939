package spf

import (
	"context"
	"net/netip"
	"testing"
)

func TestCheckTransaction(t *testing.T) {
	c, _ := newChecker(t, evalZone+`
nohelo.example. MX 10 mx.nohelo.example.
`)
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.5")
	for _, tc := range []struct {
		name           string
		helo, from     string
		opts           TxOptions
		helo2, mail    Result
		skipped        bool
		receivedPrefix string
	}{
		{name: "both", helo: "helo.example.com", from: "a@soft.example.com", helo2: Pass, mail: SoftFail,
			receivedPrefix: "Received-SPF: Softfail (mailfrom) identity=mailfrom; client-ip=203.0.113.5; helo=helo.example.com; envelope-from=a@soft.example.com; receiver=r.example "},
		{name: "mail from none: the HELO result", helo: "helo.example.com", from: "a@nohelo.example", helo2: Pass, mail: None,
			receivedPrefix: "Received-SPF: Pass (sender SPF authorized) identity=helo; client-ip=203.0.113.5; helo=helo.example.com; envelope-from=a@nohelo.example; receiver=r.example "},
		{name: "null sender", helo: "helo.example.com", from: "", helo2: Pass, mail: Pass,
			receivedPrefix: "Received-SPF: Pass (sender SPF authorized) identity=helo; client-ip=203.0.113.5; helo=helo.example.com; envelope-from=<>; receiver=r.example "},
		{name: "no HELO check", helo: "helo.example.com", from: "a@nohelo.example", opts: TxOptions{NoHELO: true}, mail: None,
			receivedPrefix: "Received-SPF: None (mailfrom) identity=mailfrom; client-ip=203.0.113.5; helo=helo.example.com; envelope-from=a@nohelo.example; receiver=r.example "},
		{name: "exempt network", helo: "helo.example.com", from: "a@example.com",
			opts: TxOptions{Exempt: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, skipped: true},
		{name: "whitelisted domain", helo: "helo.example.com", from: "a@example.com",
			opts: TxOptions{DomainWhitelist: []string{"helo.example.com"}}, skipped: true},
	} {
		o := c.CheckTransaction(ctx, ip, tc.helo, tc.from, tc.opts)
		if tc.skipped {
			if o.Skipped == "" || o.HELO != nil || o.MailFrom != nil || o.ReceivedSPF("r.example") != "" {
				t.Errorf("%s: %+v", tc.name, o)
			}
			continue
		}
		if (o.HELO == nil) != (tc.helo2 == "") || o.HELO != nil && o.HELO.Result != tc.helo2 {
			t.Errorf("%s: HELO %+v, want %s", tc.name, o.HELO, tc.helo2)
		}
		if o.MailFrom == nil || o.MailFrom.Result != tc.mail || o.MailFrom.Identity != MailFrom {
			t.Errorf("%s: MAIL FROM %+v, want %s", tc.name, o.MailFrom, tc.mail)
		}
		if got := o.ReceivedSPF("r.example"); got != tc.receivedPrefix {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.receivedPrefix)
		}
	}
	// The null sender's MAIL FROM identity is postmaster@ the HELO name.
	o := c.CheckTransaction(ctx, ip, "helo.example.com", "", TxOptions{})
	if o.MailFrom.Domain != "helo.example.com" || o.MailFrom.Sender != "postmaster@helo.example.com" {
		t.Errorf("null sender: %+v", o.MailFrom)
	}
	// No HELO: the sender's domain stands in, as in policyd-spf.
	if o := c.CheckTransaction(ctx, ip, "", "a@example.com", TxOptions{}); o.HELOName != "example.com" {
		t.Errorf("no HELO: %q", o.HELOName)
	}
}
