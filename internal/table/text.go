package table

import (
	"context"
	"fmt"
	"strings"
)

// logicalLine is one postmap(1) logical line and the physical line it
// starts on.
type logicalLine struct {
	text string
	line int
}

// logicalLines splits a table file as Postfix's readlline does: blank
// lines and lines whose first non-blank character is "#" are skipped, and
// a line that starts with whitespace continues the previous logical line
// (appended as it is, leading whitespace included).
func logicalLines(path string, data []byte) ([]logicalLine, error) {
	var out []logicalLine
	for n, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		t := strings.TrimLeft(raw, " \t\r\f\v")
		if t == "" || t[0] == '#' {
			continue
		}
		if t != raw { // starts with whitespace: a continuation
			if len(out) == 0 {
				return nil, fmt.Errorf("%s, line %d: a logical line must not start with whitespace", path, n+1)
			}
			out[len(out)-1].text += raw
			continue
		}
		out = append(out, logicalLine{raw, n + 1})
	}
	return out, nil
}

// mapTable is an in-memory map with Postfix's case folding of keys.
type mapTable map[string]string

func (m mapTable) Lookup(_ context.Context, key string) (string, bool, error) {
	v, ok := m[foldKey(key)]
	return v, ok, nil
}

// foldKey lowercases a lookup key as Postfix does for indexed tables
// (postmap folds keys when it builds the file, and folds the query).
func foldKey(k string) string { return strings.ToLower(k) }

// parseText reads postmap(1) text: "key whitespace value" lines. The first
// of duplicate keys wins, as with postmap. A line without a value is an
// error naming the line (postmap skips it with a warning).
func parseText(path string, data []byte) (Table, error) {
	lines, err := logicalLines(path, data)
	if err != nil {
		return nil, err
	}
	m := make(mapTable, len(lines))
	for _, l := range lines {
		i := strings.IndexAny(l.text, " \t")
		if i < 0 {
			return nil, fmt.Errorf("%s, line %d: expected format: key whitespace value", path, l.line)
		}
		key := l.text[:i]
		val := strings.TrimSpace(l.text[i:])
		if val == "" {
			return nil, fmt.Errorf("%s, line %d: expected format: key whitespace value", path, l.line)
		}
		k := foldKey(key)
		if _, dup := m[k]; !dup {
			m[k] = val
		}
	}
	return m, nil
}
