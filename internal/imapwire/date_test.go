package imapwire

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1-Feb-1994", day(1994, 2, 1), true},
		{"01-feb-1994", day(1994, 2, 1), true},
		{"29-Feb-2024", day(2024, 2, 29), true},
		{"29-Feb-2023", time.Time{}, false},
		{"0-Jan-2024", time.Time{}, false},
		{"1-Jan-24", time.Time{}, false},
		{"123-Jan-2024", time.Time{}, false},
		{"1 Jan 2024", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := ParseDate(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%q: %v, %v", tc.in, got, err)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	z := func(h, m int) *time.Location { return time.FixedZone("", (h*60+m)*60) }
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"17-Jul-1996 02:44:25 -0700", time.Date(1996, 7, 17, 2, 44, 25, 0, z(-7, 0)), true},
		{" 7-Jul-1996 02:44:25 +0530", time.Date(1996, 7, 7, 2, 44, 25, 0, z(5, 30)), true},
		{"7-Jul-1996 23:59:59 +0000", time.Date(1996, 7, 7, 23, 59, 59, 0, time.UTC), true},
		{"17-Jul-1996 24:00:00 +0000", time.Time{}, false},
		{"17-Jul-1996 02:44 +0000", time.Time{}, false},
		{"17-Jul-1996 02:44:25", time.Time{}, false},
		{"17-Jul-1996 02:44:25 0700", time.Time{}, false},
		{"17-Jul-1996 02:44:25 +07:00", time.Time{}, false},
		{"17-Jul-1996 02:44:25 +0099", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := ParseDateTime(tc.in)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%q: %v, %v", tc.in, got, err)
		}
	}
	if s := FormatDateTime(time.Date(1996, 7, 7, 2, 44, 25, 0, z(-7, 0))); s != " 7-Jul-1996 02:44:25 -0700" {
		t.Errorf("FormatDateTime = %q", s)
	}
}
