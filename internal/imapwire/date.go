package imapwire

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

var months = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// parseDayMonthYear parses date-day "-" date-month "-" date-year where the
// day is one or two digits (a leading space is allowed for date-day-fixed).
func parseDayMonthYear(s string) (y int, m time.Month, d int, err error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return 0, 0, 0, errors.New("invalid date")
	}
	ds := strings.TrimPrefix(parts[0], " ")
	if len(ds) < 1 || len(ds) > 2 || !allDigits(ds) || len(parts[2]) != 4 || !allDigits(parts[2]) {
		return 0, 0, 0, errors.New("invalid date")
	}
	d, _ = strconv.Atoi(ds)
	y, _ = strconv.Atoi(parts[2])
	for i, name := range months {
		if strings.EqualFold(parts[1], name) {
			m = time.Month(i + 1)
		}
	}
	if m == 0 {
		return 0, 0, 0, errors.New("invalid month in date")
	}
	if d < 1 || time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Day() != d {
		return 0, 0, 0, errors.New("invalid day in date")
	}
	return y, m, d, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ParseDate parses an IMAP date ("1-Feb-2024"), as used by SEARCH, into
// midnight UTC of that day. The server compares it in its own time zone.
func ParseDate(s string) (time.Time, error) {
	y, m, d, err := parseDayMonthYear(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// ParseDateTime parses an IMAP date-time without its quotes, e.g.
// "17-Jul-1996 02:44:25 -0700" (day may be " 7", "07" or "7").
func ParseDateTime(s string) (time.Time, error) {
	bad := errors.New("invalid date-time")
	// Split from the right: the day may start with a space.
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return time.Time{}, bad
	}
	zone := s[i+1:]
	rest := s[:i]
	j := strings.LastIndexByte(rest, ' ')
	if j < 0 {
		return time.Time{}, bad
	}
	clock := rest[j+1:]
	y, m, d, err := parseDayMonthYear(rest[:j])
	if err != nil {
		return time.Time{}, err
	}
	if len(clock) != 8 || clock[2] != ':' || clock[5] != ':' ||
		!allDigits(clock[:2]) || !allDigits(clock[3:5]) || !allDigits(clock[6:]) {
		return time.Time{}, bad
	}
	hh, _ := strconv.Atoi(clock[:2])
	mm, _ := strconv.Atoi(clock[3:5])
	ss, _ := strconv.Atoi(clock[6:])
	if hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, bad
	}
	if len(zone) != 5 || (zone[0] != '+' && zone[0] != '-') || !allDigits(zone[1:]) {
		return time.Time{}, bad
	}
	zh, _ := strconv.Atoi(zone[1:3])
	zm, _ := strconv.Atoi(zone[3:])
	if zm > 59 {
		return time.Time{}, bad
	}
	off := (zh*60 + zm) * 60
	if zone[0] == '-' {
		off = -off
	}
	return time.Date(y, m, d, hh, mm, ss, 0, time.FixedZone("", off)), nil
}

// FormatDateTime formats t as an IMAP date-time without quotes.
func FormatDateTime(t time.Time) string {
	return t.Format("_2-Jan-2006 15:04:05 -0700")
}
