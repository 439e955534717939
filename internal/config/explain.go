package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// This file turns the TOML decoder's messages into sentences an admin can
// act on: what the key wants, with an example in TOML, and a "did you
// mean" for misspelt keys. The key types come from the Config struct
// itself (its toml tags), so keys other files add are covered too.

// schema maps every key path ("listen.smtp", "smtp.max_connections") to
// the Go type it decodes into.
var schema = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(prefix, f.Type) // embedded: its keys are the outer table's (SMTPLimits)
				continue
			}
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			m[key] = f.Type
			if f.Type.Kind() == reflect.Struct && !isScalar(f.Type) {
				walk(key, f.Type)
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
	return m
}()

var (
	sizeType     = reflect.TypeOf(Size(0))
	durationType = reflect.TypeOf(Duration(0))
)

// isScalar reports whether t is written as one TOML value (not a table).
func isScalar(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || t == sizeType || t == durationType
}

// listenExamples are the usual ports, for the [listen] examples.
var listenExamples = map[string]string{
	"smtp": "0.0.0.0:25", "submission": "0.0.0.0:587", "submissions": "0.0.0.0:465",
	"imap": "0.0.0.0:143", "imaps": "0.0.0.0:993", "pop3": "0.0.0.0:110", "pop3s": "0.0.0.0:995",
}

// want describes what key takes, as "a list of addresses, e.g. smtp =
// [\"0.0.0.0:25\"]"; "" for keys the schema does not know.
func want(key string) string {
	t, ok := schema[key]
	if !ok {
		return ""
	}
	leaf := key[strings.LastIndex(key, ".")+1:]
	table := strings.TrimSuffix(strings.TrimSuffix(key, leaf), ".")
	ex := func(v string) string { return ", e.g. " + leaf + " = " + v }
	switch {
	case t == sizeType:
		return "a size: a number of bytes or a quoted string with K, M, G or T" + ex(`"25M"`)
	case t == durationType:
		return "a duration: a quoted string such as \"300s\" or \"5m\", or a number of seconds" + ex(`"5m"`)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		switch {
		case table == "listen":
			return "a list of addresses" + ex("["+strconv.Quote(listenExamples[leaf])+"]")
		case strings.HasSuffix(leaf, "networks") || strings.HasSuffix(leaf, "_hosts"):
			return "a list of quoted networks" + ex(`["127.0.0.0/8", "::1/128"]`)
		}
		return "a list of quoted strings" + ex(`["..."]`)
	case t.Kind() == reflect.String:
		return "a quoted string" + ex(exampleOf(key, `"..."`))
	case t.Kind() == reflect.Bool:
		return "true or false, without quotes" + ex("true")
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "a number without quotes" + ex(exampleOf(key, "10"))
	case t.Kind() == reflect.Map:
		return "a table" + ex(`{ name = ["..."] }`)
	case t.Kind() == reflect.Struct:
		return "a table: a [" + key + "] section"
	}
	return ""
}

// exampleOf is key's default as TOML, or fallback when it has none.
func exampleOf(key, fallback string) string {
	v := reflect.ValueOf(Default()).Elem()
	for _, name := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct {
			return fallback
		}
		found := false
		for i := 0; i < v.NumField(); i++ {
			if n, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("toml"), ","); n == name {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return fallback
		}
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() != "" {
			return strconv.Quote(v.String())
		}
	case reflect.Int, reflect.Int64:
		if v.Int() != 0 {
			return strconv.FormatInt(v.Int(), 10)
		}
	}
	return fallback
}

// typeErr is the decoder's message for a value of the wrong TOML type.
var typeErr = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]+)"\): (?:incompatible types|type mismatch)`)

// explainDecode turns a toml.Decode error into file:line errors that say
// what the key wants.
func explainDecode(path string, data []byte, err error) Errors {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		if msg := explainBare(data, line); msg != "" {
			return Errors{{File: path, Line: line, Msg: msg}}
		}
		msg := pe.Message
		if pe.LastKey != "" {
			msg = pe.LastKey + ": " + msg
		}
		return Errors{{File: path, Line: line, Msg: msg}}
	}
	if m := typeErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		if line == 0 {
			line = lineOfKey(data, strings.Split(m[2], "."))
		}
		if w := want(m[2]); w != "" {
			return Errors{{File: path, Line: line, Msg: m[2] + " must be " + w}}
		}
	}
	return Errors{{File: path, Line: lineOfError(data, err.Error()), Msg: err.Error()}}
}

// bareLine is `key = value` where value is not quoted, bracketed or braced.
var bareLine = regexp.MustCompile(`^\s*([A-Za-z0-9_-]+)\s*=\s*([^"'\[{\s#][^#]*?)\s*(?:#.*)?$`)

// explainBare recognises a Postfix habit at line n of data: a string or
// list value written without quotes (`mynetworks = 127.0.0.0/8, ::1/128`)
// and says how TOML writes it. "" when line n is not that.
func explainBare(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	m := bareLine.FindStringSubmatch(lines[n-1])
	if m == nil {
		return ""
	}
	var v any
	if _, err := toml.Decode("v = "+m[2], &v); err == nil {
		return "" // a valid TOML value: the trouble is elsewhere
	}
	table := ""
	for _, l := range lines[:n-1] {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			if i := strings.Index(l, "#"); i >= 0 {
				l = l[:i]
			}
			table = strings.Trim(strings.TrimSpace(l), "[] \t")
		}
	}
	key := m[1]
	if table != "" {
		key = table + "." + m[1]
	}
	t, ok := schema[key]
	if !ok {
		return ""
	}
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		var q []string
		for _, v := range strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			q = append(q, strconv.Quote(v))
		}
		return fmt.Sprintf("%s entries are quoted strings in a list: %s = [%s]", key, m[1], strings.Join(q, ", "))
	case t.Kind() == reflect.String || t == sizeType || t == durationType:
		return fmt.Sprintf("%s is a quoted string: %s = %q", key, m[1], m[2])
	}
	return ""
}

// unknownKey is the message for a key the schema does not have, with the
// nearest known key when one is close.
func unknownKey(key string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key); s != "" {
		msg += " — did you mean " + s + "?"
	}
	return msg
}

// suggest finds the known key nearest to key: in the same table by edit
// distance or as a suffix (Postfix's default_destination_concurrency_limit
// is destination_concurrency_limit), else the same name in another table.
func suggest(key string) string {
	leaf := key[strings.LastIndex(key, ".")+1:]
	table := strings.TrimSuffix(strings.TrimSuffix(key, leaf), ".")
	var best string
	bestD := len(leaf)/3 + 1
	if bestD > 3 {
		bestD = 3
	}
	bestD++
	var keys []string
	for k := range schema {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kl := k[strings.LastIndex(k, ".")+1:]
		kt := strings.TrimSuffix(strings.TrimSuffix(k, kl), ".")
		if kt != table {
			continue
		}
		if d := editDistance(leaf, kl); d < bestD {
			best, bestD = kl, d
		}
	}
	if best != "" {
		return best
	}
	for _, k := range keys {
		kl := k[strings.LastIndex(k, ".")+1:]
		kt := strings.TrimSuffix(strings.TrimSuffix(k, kl), ".")
		if kt == table && len(kl) >= 6 && strings.HasSuffix(leaf, "_"+kl) && len(kl) > len(best) {
			best = kl
		}
	}
	if best != "" {
		return best
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "."+leaf) || (k == leaf && table != "") {
			if t := strings.TrimSuffix(k, "."+leaf); t != k {
				return leaf + " in [" + t + "]"
			}
			return leaf + " at the top of the file (before any [table])"
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// KeyLine is the line of file path where key ("tls.cert_file") is set, 0
// when the file does not set it.
func KeyLine(path, key string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return lineOfKey(data, strings.Split(key, "."))
}
