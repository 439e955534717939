package imapserver

import (
	"strings"

	"mailwarden/internal/store"
)

// simplifyPattern merges runs of wildcards: "*" absorbs "%" next to it.
func simplifyPattern(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '*' && c != '%' {
			b.WriteByte(c)
			continue
		}
		j := i
		star := false
		for ; j < len(p) && (p[j] == '*' || p[j] == '%'); j++ {
			star = star || p[j] == '*'
		}
		if star {
			b.WriteByte('*')
		} else {
			b.WriteByte('%')
		}
		i = j - 1
	}
	return b.String()
}

// matchPattern reports whether name matches a LIST pattern (RFC 9051
// 6.3.9): "*" matches anything, "%" anything but the hierarchy
// delimiter. INBOX matches case-insensitively. The work is bounded by
// len(pattern)*len(name), whatever the pattern.
func matchPattern(pattern, name string) bool {
	return matchPatternDelim(pattern, name, store.Delimiter[0])
}

// matchPatternDelim is matchPattern where "%" stops at delim (the shared
// namespaces use "/").
func matchPatternDelim(pattern, name string, delim byte) bool {
	if (name == "INBOX" || strings.HasPrefix(name, "INBOX"+store.Delimiter)) &&
		len(pattern) >= 5 && strings.EqualFold(pattern[:5], "INBOX") {
		pattern = "INBOX" + pattern[5:]
	}
	literal := len(pattern) - strings.Count(pattern, "*") - strings.Count(pattern, "%")
	if literal > len(name) {
		return false
	}
	pattern = simplifyPattern(pattern)
	// reach[i]: name[:i] is matched by the pattern read so far.
	reach := make([]bool, len(name)+1)
	next := make([]bool, len(name)+1)
	reach[0] = true
	for k := 0; k < len(pattern); k++ {
		clear(next)
		hit := false
		switch c := pattern[k]; c {
		case '*':
			for i := range reach {
				if reach[i] {
					for j := i; j <= len(name); j++ {
						next[j] = true
					}
					hit = true
					break
				}
			}
		case '%':
			for i := 0; i <= len(name); i++ {
				if !reach[i] {
					continue
				}
				for j := i; j <= len(name); j++ {
					next[j] = true
					hit = true
					if j < len(name) && name[j] == delim {
						break
					}
				}
			}
		default:
			for i := 0; i < len(name); i++ {
				if reach[i] && name[i] == c {
					next[i+1] = true
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
		reach, next = next, reach
	}
	return reach[len(name)]
}
