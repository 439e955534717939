package policy

import (
	"context"
	"net/netip"
	"testing"

	"mailwarden/internal/config"
	"mailwarden/internal/msgauth/spf"
)

// policyd-spf's _get_resultcodes, one row per setting and result.
func TestSPFDecide(t *testing.T) {
	all := []spf.Result{spf.Pass, spf.Fail, spf.SoftFail, spf.Neutral, spf.None, spf.PermError, spf.TempError}
	for _, tc := range []struct {
		policy         string
		perm, temp     bool
		reject, deferr []spf.Result
	}{
		{policy: "fail", reject: []spf.Result{spf.Fail}},
		{policy: "softfail", reject: []spf.Result{spf.Fail, spf.SoftFail}},
		{policy: "spf_not_pass", reject: []spf.Result{spf.Fail, spf.SoftFail, spf.Neutral}},
		{policy: "fail", perm: true, temp: true, reject: []spf.Result{spf.Fail, spf.PermError}, deferr: []spf.Result{spf.TempError}},
		{policy: "false", perm: true, temp: true},
		{policy: "no_check", perm: true, temp: true},
	} {
		cfg := config.DefaultSPF()
		cfg.PermErrorReject, cfg.TempErrorDefer = tc.perm, tc.temp
		for _, res := range all {
			d := spfDecide(cfg, tc.policy, &spf.Verdict{Result: res})
			want := Dunno
			for _, r := range tc.reject {
				if r == res {
					want = Reject
				}
			}
			for _, r := range tc.deferr {
				if r == res {
					want = DeferIfPermit
				}
			}
			if d.Action != want {
				t.Errorf("%s perm=%v temp=%v %s: %s, want %s", tc.policy, tc.perm, tc.temp, res, d.Action, want)
			}
			switch {
			case want == Reject && res == spf.PermError && d.Enhanced != "5.7.24",
				want == Reject && res != spf.PermError && (d.Code != 550 || d.Enhanced != "5.7.23"),
				want == DeferIfPermit && (d.Code != 450 || d.Enhanced != "4.7.24"):
				t.Errorf("%s %s: %d %s", tc.policy, res, d.Code, d.Enhanced)
			}
		}
	}
}

func TestCheckSPF(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	out := func(helo, mail spf.Result, sender string) SPFFunc {
		o := &spf.Outcome{IP: ip, HELOName: "h.example", Sender: sender,
			HELO:     &spf.Verdict{Result: helo, Identity: spf.HELO},
			MailFrom: &spf.Verdict{Result: mail, Identity: spf.MailFrom}}
		return func(context.Context) *spf.Outcome { return o }
	}
	for _, tc := range []struct {
		helo, mail spf.Result
		sender     string
		heloReject string
		want       string
	}{
		{spf.Pass, spf.Pass, "a@b.example", "fail", ""},
		{spf.Fail, spf.Pass, "a@b.example", "fail", "550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=helo;id=h.example;ip=192.0.2.1;r=c.example"},
		{spf.Fail, spf.Pass, "a@b.example", "null", ""},
		{spf.Fail, spf.Fail, "", "null", "550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=helo;id=h.example;ip=192.0.2.1;r=c.example"},
		{spf.None, spf.Fail, "a@b.example", "fail", "550 5.7.23 Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=a@b.example;ip=192.0.2.1;r=c.example"},
		{spf.None, spf.SoftFail, "a@b.example", "fail", ""},
		{spf.None, spf.TempError, "a@b.example", "fail", ""},
	} {
		cfg := config.DefaultSPF()
		cfg.HeloReject = tc.heloReject
		r := &Request{Recipient: "x@c.example", SPF: out(tc.helo, tc.mail, tc.sender)}
		if got := CheckSPF(cfg).Check(context.Background(), r).Reply(); got != tc.want {
			t.Errorf("%s/%s <%s> %s: %q, want %q", tc.helo, tc.mail, tc.sender, tc.heloReject, got, tc.want)
		}
	}
	if v := CheckSPF(config.DefaultSPF()).Check(context.Background(), &Request{}); v.Action != Dunno {
		t.Errorf("no SPF: %v", v)
	}
	pass := SPFPass
	if ok, _ := pass(context.Background(), &Request{SPF: out(spf.None, spf.Pass, "a@b.example")}); !ok {
		t.Error("SPFPass: pass not seen")
	}
	if ok, _ := pass(context.Background(), &Request{SPF: out(spf.Pass, spf.SoftFail, "a@b.example")}); ok {
		t.Error("SPFPass: softfail taken for pass")
	}
}
