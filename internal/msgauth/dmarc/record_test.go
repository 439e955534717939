package dmarc

import (
	"errors"
	"testing"
)

func TestParseRecord(t *testing.T) {
	cases := []struct {
		in      string
		wantErr bool
		check   func(t *testing.T, r *Record)
	}{
		{in: "v=DMARC1; p=reject", check: func(t *testing.T, r *Record) {
			if r.Policy != Reject || r.SubPolicy != Reject || r.NPolicy != Reject || r.Pct != 100 ||
				r.ADKIM != Relaxed || r.ASPF != Relaxed || r.RI != 86400 || r.FO != "0" {
				t.Errorf("defaults: %+v", r)
			}
		}},
		{in: "v=DMARC1;p=quarantine;sp=none;np=reject;adkim=s;aspf=S;pct=25;ri=3600;fo=1:d", check: func(t *testing.T, r *Record) {
			if r.Policy != Quarantine || r.SubPolicy != None || r.NPolicy != Reject || r.ADKIM != Strict ||
				r.ASPF != Strict || r.Pct != 25 || r.RI != 3600 || r.FO != "1:d" || !r.HasSP || !r.HasNP {
				t.Errorf("got %+v", r)
			}
		}},
		{in: "v=DMARC1; p=none; rua=mailto:dmarc@example.com!10m, mailto:other@example.net; ruf=mailto:f@example.com", check: func(t *testing.T, r *Record) {
			if len(r.RUA) != 2 || r.RUA[0].Address != "dmarc@example.com" || r.RUA[0].MaxSize != 10<<20 ||
				r.RUA[0].URI != "mailto:dmarc@example.com" || r.RUA[1].MaxSize != 0 || r.RUA[1].Domain() != "example.net" {
				t.Errorf("rua: %+v", r.RUA)
			}
			if len(r.RUF) != 1 || r.RUF[0].Address != "f@example.com" {
				t.Errorf("ruf: %+v", r.RUF)
			}
		}},
		{in: "v=DMARC1; p=REJECT; unknown=tag; x=1", check: func(t *testing.T, r *Record) {
			if r.Policy != Reject {
				t.Errorf("p: %q", r.Policy)
			}
		}},
		// RFC 7489 6.6.3 step 6: no or a bad p= with a valid rua is p=none.
		{in: "v=DMARC1; rua=mailto:a@example.com", check: func(t *testing.T, r *Record) {
			if r.Policy != None || !r.NoPolicy {
				t.Errorf("got %+v", r)
			}
		}},
		{in: "v=DMARC1; p=bogus; rua=mailto:a@example.com", check: func(t *testing.T, r *Record) {
			if r.Policy != None || !r.NoPolicy {
				t.Errorf("got %+v", r)
			}
		}},
		{in: "v=DMARC1; p=bogus", wantErr: true},
		{in: "v=DMARC1; p=reject; sp=bogus", wantErr: true},
		{in: "v=DMARC1", wantErr: true},
		{in: "v=DMARC1; p=reject; pct=101", wantErr: true},
		{in: "v=DMARC1; p=reject; pct=-1", wantErr: true},
		{in: "v=DMARC1; p=reject; adkim=x", wantErr: true},
		{in: "v=DMARC1; p=reject; p=none", wantErr: true},
		{in: "v=DMARC1; p=reject; rua=http//nope", wantErr: true},
		{in: "v=DMARC1; p=reject; rua=mailto:nobody", wantErr: true},
		{in: "v=DMARC1; p=reject; rua=mailto:a@example.com!10x", wantErr: true},
		{in: "p=reject; v=DMARC1", wantErr: true},
		{in: "v=dmarc1; p=reject", wantErr: true},
		{in: "v=spf1 -all", wantErr: true},
		{in: "v=DMARC1; p=reject; v=DMARC1", wantErr: true},
		{in: "v=DMARC1; p=reject; garbage", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			r, err := ParseRecord(c.in)
			if c.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
	if _, err := ParseRecord("v=spf1 -all"); !errors.Is(err, ErrNotDMARC) {
		t.Errorf("non-DMARC TXT: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "100": 100, "10k": 10 << 10, "2m": 2 << 20, "1g": 1 << 30, "1t": 1 << 40} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "1x", "99999999999999999999", "9999999999t"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject",
		"v=DMARC1; p=none; sp=quarantine; np=reject; adkim=s; aspf=r; pct=50; rua=mailto:a@b.example!5m,mailto:c@d.example; ruf=mailto:x@y.example; fo=1; rf=afrf; ri=86400",
		"v=DMARC1; rua=mailto:a%2cb@example.com",
		"v=DMARC1;p=quarantine;;;",
		"v=DMARC1; p=reject; rua=mailto:a@b!",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			return
		}
		if r.Policy == "" || r.SubPolicy == "" || r.NPolicy == "" {
			t.Fatalf("%q: a parsed record without a policy: %+v", s, r)
		}
		if r.Pct < 0 || r.Pct > 100 {
			t.Fatalf("%q: pct %d", s, r.Pct)
		}
		for _, u := range append(r.RUA, r.RUF...) {
			if u.MaxSize < 0 {
				t.Fatalf("%q: negative size", s)
			}
		}
	})
}
