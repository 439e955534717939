package mime

import "strings"

// AuthServID returns the authserv-id an Authentication-Results value
// starts with (RFC 8601 2.2: [CFWS] authserv-id [CFWS [version]] ";"),
// lower-cased; "" when there is none.
func AuthServID(value string) string {
	s := skipCFWS(value)
	if strings.HasPrefix(s, `"`) {
		end := 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			return ""
		}
		return strings.ToLower(strings.ReplaceAll(s[1:end], `\`, ""))
	}
	end := strings.IndexFunc(s, func(r rune) bool { return r == ';' || r == '(' || r <= ' ' })
	if end < 0 {
		end = len(s)
	}
	return strings.ToLower(s[:end])
}

// skipCFWS skips blanks, line ends and (nested) comments.
func skipCFWS(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if !strings.HasPrefix(s, "(") {
			return s
		}
		depth := 0
		i := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i >= len(s) {
			return ""
		}
		s = s[i+1:]
	}
}
