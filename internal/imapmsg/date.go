package imapmsg

import (
	"strconv"
	"strings"
	"time"
)

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "apr": time.April,
	"may": time.May, "jun": time.June, "jul": time.July, "aug": time.August,
	"sep": time.September, "oct": time.October, "nov": time.November, "dec": time.December,
}

// zones are the obsolete zone names of RFC 5322 4.3, in hours.
var zones = map[string]int{
	"ut": 0, "gmt": 0, "utc": 0, "z": 0,
	"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}

// stripComments removes (nested) comments.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseDate reads an RFC 5322 date-time leniently: optional day name,
// day, month name and year in either order ("2 Jan 2006" or asctime's
// "Jan 2 15:04:05 2006"), optional seconds, numeric or obsolete zone
// (unknown zones are +0000), two- and three-digit years (RFC 5322 4.3).
// It returns the zero time when the date cannot be read.
func parseDate(s string) time.Time {
	fields := strings.FieldsFunc(stripComments(s), func(r rune) bool {
		return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n'
	})
	day, year, hour, min, sec, offset := -1, -1, 0, 0, 0, 0
	var month time.Month
	for _, f := range fields {
		lf := strings.ToLower(f)
		switch {
		case strings.Contains(f, ":"):
			parts := strings.Split(f, ":")
			if len(parts) > 3 {
				return time.Time{}
			}
			var vals [3]int
			for i, p := range parts {
				v, err := strconv.Atoi(p)
				if err != nil || len(p) > 2 {
					return time.Time{}
				}
				vals[i] = v
			}
			hour, min, sec = vals[0], vals[1], vals[2]
		case len(f) == 5 && (f[0] == '+' || f[0] == '-') && allDigits(f[1:]):
			h, _ := strconv.Atoi(f[1:3])
			mm, _ := strconv.Atoi(f[3:])
			offset = (h*60 + mm) * 60
			if f[0] == '-' {
				offset = -offset
			}
		case allDigits(f):
			v, _ := strconv.Atoi(f)
			switch {
			case day < 0 && len(f) <= 2:
				day = v
			case year < 0 && len(f) >= 2 && len(f) <= 4:
				year = v
				switch len(f) {
				case 2:
					if v < 50 {
						year += 2000
					} else {
						year += 1900
					}
				case 3:
					year += 1900
				}
			default:
				return time.Time{}
			}
		case len(lf) >= 3 && months[lf[:3]] != 0 && month == 0 && !strings.ContainsAny(lf, "0123456789"):
			month = months[lf[:3]]
		default:
			if h, ok := zones[lf]; ok {
				offset = h * 3600
			}
			// day names, single-letter military zones (-0000 per RFC
			// 5322) and other words are ignored
		}
	}
	if day < 1 || day > 31 || month == 0 || year < 0 || hour > 23 || min > 59 || sec > 60 {
		return time.Time{}
	}
	if sec == 60 {
		sec = 59
	}
	loc := time.UTC
	if offset != 0 {
		loc = time.FixedZone("", offset)
	}
	t := time.Date(year, month, day, hour, min, sec, 0, loc)
	if t.Day() != day {
		return time.Time{} // 31 Feb
	}
	return t
}
