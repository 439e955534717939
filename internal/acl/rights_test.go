package acl

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   Rights
		str    string
		stored string
		bad    bool
	}{
		{in: "", want: 0, str: "", stored: ""},
		{in: "lr", want: Lookup | Read, str: "lr", stored: "lr"},
		{in: "rl", want: Lookup | Read, str: "lr", stored: "lr"},
		{in: "lrswipkxtea", want: All, str: "lrwstipekxacd", stored: "lrwstipekxa"},
		{in: "c", want: CreateMailbox | DeleteMailbox, str: "kxc", stored: "kx"},
		{in: "d", want: Expunge | DeleteMessages, str: "ted", stored: "te"},
		{in: "lrsd", want: Lookup | Read | Seen | Expunge | DeleteMessages, str: "lrsted", stored: "lrste"},
		{in: "k", want: CreateMailbox, str: "kc", stored: "k"},
		{in: "llll", want: Lookup, str: "l", stored: "l"},
		{in: "lq", bad: true},
		{in: "L", bad: true},
		{in: "l r", bad: true},
		{in: "l\x00", bad: true},
		{in: string(make([]byte, 65)), bad: true},
	} {
		got, err := Parse(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadRights) {
				t.Errorf("Parse(%q) = %v, %v; want ErrBadRights", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if s := got.String(); s != tc.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, s, tc.str)
		}
		if s := got.Stored(); s != tc.stored {
			t.Errorf("Parse(%q).Stored() = %q, want %q", tc.in, s, tc.stored)
		}
	}
}

func TestParseModify(t *testing.T) {
	for _, tc := range []struct {
		in       string
		cur      Rights
		want     Rights
		wantMode Mode
	}{
		{"lr", All, Lookup | Read, Replace},
		{"+i", Lookup | Read, Lookup | Read | Insert, Add},
		{"-r", Lookup | Read, Lookup, Remove},
		{"-d", All, All &^ (Expunge | DeleteMessages), Remove},
		{"", All, 0, Replace},
	} {
		mode, r, err := ParseModify(tc.in)
		if err != nil || mode != tc.wantMode {
			t.Errorf("ParseModify(%q) = %v, %v, %v", tc.in, mode, r, err)
			continue
		}
		if got := mode.Apply(tc.cur, r); got != tc.want {
			t.Errorf("%q applied to %v = %v, want %v", tc.in, tc.cur, got, tc.want)
		}
	}
	if _, _, err := ParseModify("+-l"); err == nil {
		t.Error("ParseModify(+-l) accepted")
	}
}

func TestIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		neg, bad bool
	}{
		{in: "Bob@Example.ORG", want: "bob@example.org"},
		{in: "anyone", want: "anyone"},
		{in: "AUTHENTICATED", want: "authenticated"},
		{in: "-bob@example.org", want: "-bob@example.org", neg: true},
		{in: "", bad: true},
		{in: "-", bad: true},
		{in: "--bob", bad: true},
		{in: "owner", bad: true},
		{in: "$group", bad: true},
		{in: "#global", bad: true},
		{in: "a b", bad: true},
		{in: "a\x01", bad: true},
		{in: "\xff", bad: true},
	} {
		got, neg, err := Identifier(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadIdentifier) {
				t.Errorf("Identifier(%q) = %q, %v; want ErrBadIdentifier", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want || neg != tc.neg {
			t.Errorf("Identifier(%q) = %q, %v, %v; want %q, %v", tc.in, got, neg, err, tc.want, tc.neg)
		}
	}
}

func TestEffective(t *testing.T) {
	entries := []Entry{
		{"bob@example.org", Lookup | Read | Seen},
		{"anyone", Lookup},
		{"-carol@example.org", Lookup | Read},
		{"carol@example.org", Lookup | Read | Insert},
		{"-authenticated", Insert},
		{"authenticated", Lookup | Read},
	}
	for _, tc := range []struct {
		user string
		same bool
		want Rights
	}{
		{"bob@example.org", true, Lookup | Read | Seen},
		{"carol@example.org", true, Insert},              // her own entries replace anyone's and authenticated's: lri less lr
		{"erin@example.org", true, Lookup | Read},        // authenticated's replace anyone's
		{"dave@example.org", true, Lookup | Read},        // authenticated (less its negative i)
		{"dave@other.test", false, 0},                    // anyone is the owner's domain only
		{"bob@example.org", false, Lookup | Read | Seen}, // named users cross domains
	} {
		if got := Effective(entries, tc.user, tc.same); got != tc.want {
			t.Errorf("Effective(%s, same=%v) = %q, want %q", tc.user, tc.same, got, tc.want)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts prints back to the
// same rights, through both written forms.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "lrswipkxtea", "cd", "+lr", "-x", "lq", "\x00", "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mode, r, err := ParseModify(s)
		if err != nil {
			return
		}
		if r&^All != 0 {
			t.Fatalf("%q: bits outside All: %b", s, r)
		}
		if back, err := Parse(r.Stored()); err != nil || back != r {
			t.Fatalf("%q -> %q -> %v, %v; want %v", s, r.Stored(), back, err, r)
		}
		// The virtual c and d read back as their whole groups.
		want := r
		if r.Any(createGroup) {
			want |= createGroup
		}
		if r.Any(deleteGroup) {
			want |= deleteGroup
		}
		if back, err := Parse(r.String()); err != nil || back != want {
			t.Fatalf("%q -> %q -> %v, %v; want %v", s, r.String(), back, err, want)
		}
		if got := mode.Apply(All, r); got&^All != 0 {
			t.Fatalf("Apply left All: %b", got)
		}
		if _, _, err := Identifier(s); err == nil && len(s) == 0 {
			t.Fatal("empty identifier accepted")
		}
	})
}
