package store

import (
	"errors"
	"reflect"
	"testing"
)

func TestApplyFlags(t *testing.T) {
	tests := []struct {
		name  string
		cur   []string
		op    FlagOp
		flags []string
		want  []string
	}{
		{"set canonicalises", []string{`\Seen`}, FlagsSet, []string{`\FLAGGED`, `$Junk`, `\seen`}, []string{`$Junk`, `\Flagged`, `\Seen`}},
		{"add keeps order and dedups", []string{`\Seen`}, FlagsAdd, []string{`\Seen`, `\Answered`}, []string{`\Answered`, `\Seen`}},
		{"add keyword case-insensitive", []string{`$Junk`}, FlagsAdd, []string{`$junk`}, []string{`$Junk`}},
		{"remove", []string{`$Junk`, `\Deleted`, `\Seen`}, FlagsRemove, []string{`\deleted`, `$JUNK`}, []string{`\Seen`}},
		{"recent and bad ones dropped", nil, FlagsSet, []string{`\Recent`, `\Bogus`, `a b`, `x(`, ``, `ok`}, []string{`ok`}},
		{"set empty", []string{`\Seen`}, FlagsSet, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyFlags(normFlags(tt.cur), tt.op, tt.flags)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMaildirNames(t *testing.T) {
	tests := []struct {
		flags []string
		inCur bool
		want  string
	}{
		{nil, false, "new/b"},
		{nil, true, "cur/b:2,"},
		{[]string{`$Junk`}, false, "new/b"},
		{[]string{`\Seen`, `\Flagged`}, false, "cur/b:2,FS"},
		{[]string{`\Seen`, `\Deleted`, `\Draft`, `\Answered`, `\Flagged`}, true, "cur/b:2,DFRST"},
	}
	for _, tt := range tests {
		if got := fileFor("b", normFlags(tt.flags), tt.inCur); got != tt.want {
			t.Errorf("fileFor(%q, %v) = %q, want %q", tt.flags, tt.inCur, got, tt.want)
		}
	}
	infos := map[string]string{"FS": `\Flagged \Seen`, "TRS": `\Answered \Deleted \Seen`, "Sab": `\Seen`, "": ""}
	for info, want := range infos {
		if got := flagsFromInfo(info); got != want {
			t.Errorf("flagsFromInfo(%q) = %q, want %q", info, got, want)
		}
	}
	if got := baseName("cur/123.M1P2.h,S=5,W=5:2,FS"); got != "123.M1P2.h,S=5,W=5" {
		t.Errorf("baseName = %q", got)
	}
}

func TestCanonName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"inbox", "INBOX", nil},
		{"InBoX", "INBOX", nil},
		{"Work.2024", "Work.2024", nil},
		{"Entw&APw-rfe", "Entw&APw-rfe", nil},
		{"INBOX.sub", "INBOX.sub", nil},
		{"", "", ErrBadName},
		{".hidden", "", ErrBadName},
		{"a..b", "", ErrBadName},
		{"a.", "", ErrBadName},
		{"a/b", "", ErrBadName},
		{"a*", "", ErrBadName},
		{"a\x01", "", ErrBadName},
	}
	for _, tt := range tests {
		got, err := canonName(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("canonName(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestOnlyAllowed(t *testing.T) {
	seenOnly := func(f string) bool { return f == `\Seen` }
	for _, tc := range []struct {
		cur, next, want []string
	}{
		{[]string{`\Flagged`, `x`}, []string{`\Seen`}, []string{`\Flagged`, `\Seen`, `x`}},
		{[]string{`\Seen`, `\Deleted`}, []string{`\Deleted`}, []string{`\Deleted`}},
		{[]string{}, []string{`\Deleted`, `\Seen`, `y`}, []string{`\Seen`}},
	} {
		if got := onlyAllowed(tc.cur, tc.next, seenOnly); !sameFlags(got, normFlags(tc.want)) {
			t.Errorf("onlyAllowed(%q, %q) = %q, want %q", tc.cur, tc.next, got, tc.want)
		}
	}
}
