package store

import (
	"sort"
	"strings"
)

// systemFlags maps the lower-case form of each storable IMAP system flag
// to its canonical spelling and Maildir info letter
// (cr.yp.to/proto/maildir.html; Dovecot uses the same letters).
var systemFlags = map[string]struct {
	name   string
	letter byte
}{
	`\answered`: {`\Answered`, 'R'},
	`\deleted`:  {`\Deleted`, 'T'},
	`\draft`:    {`\Draft`, 'D'},
	`\flagged`:  {`\Flagged`, 'F'},
	`\seen`:     {`\Seen`, 'S'},
}

// letterFlags maps a Maildir info letter to its IMAP system flag.
var letterFlags = map[rune]string{'D': `\Draft`, 'F': `\Flagged`, 'R': `\Answered`, 'S': `\Seen`, 'T': `\Deleted`}

// canonFlag returns the stored form of one flag: system flags in their
// canonical case; keywords as given. ok is false for flags that cannot be
// stored: \Recent (session state, RFC 3501 2.3.2), unknown system flags and
// anything that is not an IMAP atom.
func canonFlag(f string) (string, bool) {
	if f == "" {
		return "", false
	}
	if f[0] == '\\' {
		sf, ok := systemFlags[strings.ToLower(f)]
		return sf.name, ok
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		// RFC 9051 9: atom-specials and CTLs are not allowed in a flag keyword.
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return "", false
		}
	}
	return f, true
}

// hasFlag reports whether flags contains f; flag names are case-insensitive.
func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if strings.EqualFold(g, f) {
			return true
		}
	}
	return false
}

// normFlags returns flags canonicalised, without duplicates (compared
// case-insensitively) and sorted.
func normFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if c, ok := canonFlag(f); ok && !hasFlag(out, c) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// splitFlags parses the index column (flags separated by spaces).
func splitFlags(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}

// joinFlags is the inverse of splitFlags; flags must be normalised.
func joinFlags(flags []string) string { return strings.Join(flags, " ") }

// applyFlags computes the flags after a STORE of op with flags on cur.
func applyFlags(cur []string, op FlagOp, flags []string) []string {
	flags = normFlags(flags)
	switch op {
	case FlagsSet:
		return flags
	case FlagsAdd:
		return normFlags(append(append([]string{}, cur...), flags...))
	case FlagsRemove:
		out := make([]string, 0, len(cur))
		for _, f := range cur {
			if !hasFlag(flags, f) {
				out = append(out, f)
			}
		}
		return out
	}
	return cur
}

// sameFlags compares two normalised flag lists.
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// infoLetters returns the Maildir info letters of flags, sorted ASCII as
// the Maildir convention requires. Keywords are kept only in the index.
func infoLetters(flags []string) string {
	var b []byte
	for _, f := range flags {
		if sf, ok := systemFlags[strings.ToLower(f)]; ok {
			b = append(b, sf.letter)
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// flagsFromInfo maps Maildir info letters to IMAP system flags, in the
// index's format (sorted, separated by spaces). Unknown letters, such as
// Dovecot's keyword letters a-z, are ignored here.
func flagsFromInfo(info string) string {
	var out []string
	for _, c := range info {
		if f, ok := letterFlags[c]; ok && !hasFlag(out, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return joinFlags(out)
}

// infoOf returns the info letters of a Maildir file name ("" without ":2,").
func infoOf(name string) string {
	if i := strings.Index(name, ":2,"); i >= 0 {
		return name[i+3:]
	}
	return ""
}

// fileFor returns the path, relative to the folder directory, that a
// message with base name base and flags should have: cur/ with the info
// suffix when it has any flag or was seen by a client, new/ otherwise.
func fileFor(base string, flags []string, inCur bool) string {
	letters := infoLetters(flags)
	if letters == "" && !inCur {
		return "new/" + base
	}
	return "cur/" + base + ":2," + letters
}

// onlyAllowed is next with the flags may refuses as they are in cur.
func onlyAllowed(cur, next []string, may func(string) bool) []string {
	out := make([]string, 0, len(next))
	for _, f := range next {
		if may(f) {
			out = append(out, f)
		}
	}
	for _, f := range cur {
		if !may(f) {
			out = append(out, f)
		}
	}
	return normFlags(out)
}
