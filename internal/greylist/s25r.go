package greylist

import "regexp"

// The S25R rules (Selective SMTP Rejection, Asami Hideo): reverse names
// that end-user lines with dynamic addresses get, not mail servers. Each
// looks at the client's verified name; rule 0 is a client without one.
var s25rRules = []struct {
	name string
	re   *regexp.Regexp
}{
	// Rule 1: a digit, non-digits and a digit again in the lowest label,
	// which is followed by more labels (p1234-ipad5.example.ne.jp).
	{"rule1", regexp.MustCompile(`^[^.]*[0-9][^0-9.]+[0-9].*\.`)},
	// Rule 2: five digits in a row in the lowest label (host12345.example).
	{"rule2", regexp.MustCompile(`^[^.]*[0-9]{5}`)},
	// Rule 3: the lowest or second-lowest label starts with a digit and at
	// least three more labels follow, the top one alphabetic
	// (12-34-56-78.dyn.example.com).
	{"rule3", regexp.MustCompile(`^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z]`)},
	// Rule 4: the two lowest labels end in digits, the second with a
	// digit-hyphen-digit (xxx1.yy2-3.example).
	{"rule4", regexp.MustCompile(`^[^.]*[0-9]\.[^.]*[0-9]-[0-9]`)},
	// Rule 5: the two lowest labels end in digits and three or more labels
	// follow (abc1.def2.ghi.example.net).
	{"rule5", regexp.MustCompile(`^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\.`)},
	// Rule 6: dial-up and DSL names (dhcp, dialup, ppp, adsl, ...)
	// followed somewhere in the label by a digit.
	{"rule6", regexp.MustCompile(`^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]`)},
}

// S25R reports whether a client looks like an end-user line by the S25R
// rules: host is its verified reverse name ("unknown" or "" when it has
// none). The second result names the rule.
func S25R(host string) (bool, string) {
	if host == "" || host == "unknown" {
		return true, "rule0"
	}
	for _, r := range s25rRules {
		if r.re.MatchString(toLowerASCII(host)) {
			return true, r.name
		}
	}
	return false, ""
}

func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
