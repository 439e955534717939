package aliases

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Limits on what a file may hold: a line, the targets of one name, and
// how deep names may refer to names.
const (
	maxLine    = 64 << 10
	maxTargets = 1000
	maxDepth   = 10
)

// Map is a set of local aliases: lower-case name -> targets as written
// (addresses with @, or local names).
type Map map[string][]string

// Parse reads an aliases(5) file: "name: target, target" lines, "#"
// comments, lines starting with white space continuing the one before.
// Targets Mailwarden cannot deliver to (|command, /file, :include:) are
// left out, each with a warning; so are names given twice (the first
// wins, as newaliases warns).
func Parse(r io.Reader) (Map, []string, error) {
	m := Map{}
	var warnings []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	var entry string
	entryLine, n := 0, 0
	flush := func() {
		if entry == "" {
			return
		}
		name, value, ok := strings.Cut(entry, ":")
		name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`))
		switch {
		case !ok || name == "" || strings.ContainsAny(name, " \t@"):
			warnings = append(warnings, fmt.Sprintf("line %d: not \"name: target, ...\"", entryLine))
		case m[name] != nil:
			warnings = append(warnings, fmt.Sprintf("line %d: %s given again; the first entry stays", entryLine, name))
		default:
			var ts []string
			for _, t := range strings.Split(value, ",") {
				t = strings.Trim(strings.TrimSpace(t), `"`)
				switch {
				case t == "":
				case strings.HasPrefix(t, "|") || strings.HasPrefix(t, "/") || strings.HasPrefix(strings.ToLower(t), ":include:"):
					warnings = append(warnings, fmt.Sprintf("line %d: %s: %q is not supported (only addresses and names)", entryLine, name, t))
				case len(ts) < maxTargets:
					ts = append(ts, t)
				}
			}
			if len(ts) > 0 {
				m[name] = ts
			}
		}
		entry = ""
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 && (i == 0 || strings.TrimSpace(line[:i]) == "") {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if entry != "" {
				entry += " " + strings.TrimSpace(line)
			}
			continue
		}
		flush()
		entry, entryLine = line, n
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, warnings, fmt.Errorf("aliases: line %d: %w", n+1, err)
	}
	return m, warnings, nil
}

// Expand follows name through m to the mail addresses it ends at. A name
// reached again, or one without an alias (Debian's "postmaster: root"
// with root unaliased), contributes nothing; nil means name is not an
// alias that ends anywhere, and the caller treats the address as before.
func (m Map) Expand(name string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(n string, depth int)
	walk = func(n string, depth int) {
		n = strings.ToLower(n)
		if depth > maxDepth || seen[n] || len(out) >= maxTargets {
			return
		}
		seen[n] = true
		for _, t := range m[n] {
			if strings.Contains(t, "@") {
				if !contains(out, t) {
					out = append(out, t)
				}
				continue
			}
			walk(t, depth+1)
		}
	}
	walk(name, 0)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
