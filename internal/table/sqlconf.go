package table

import (
	"fmt"
	"strconv"
	"strings"
)

// maxSQLConfig bounds a sqlite:/pgsql:/mysql: config file.
const maxSQLConfig = 64 << 10

// sqlConfig is one *_table(5) config file (sqlite_table(5),
// pgsql_table(5), mysql_table(5)): main.cf syntax, "name = value".
type sqlConfig struct {
	hosts          []string // pgsql, mysql
	dbpath         string   // sqlite
	user, password string
	dbname         string
	query          template
	resultFormat   template
	domains        []string // the domain restriction list, as written
	expansionLimit int
	unknown        []string // keys Mailwarden does not read (logged)
}

// sqlKeys are the parameters each type reads (beside the common ones).
var sqlKeys = map[string]map[string]bool{
	"sqlite": {"dbpath": true},
	"pgsql":  {"hosts": true, "user": true, "password": true, "dbname": true},
	"mysql":  {"hosts": true, "user": true, "password": true, "dbname": true},
}

var sqlCommonKeys = map[string]bool{
	"query": true, "result_format": true, "domain": true, "expansion_limit": true,
	"select_field": true, "table": true, "where_field": true, "additional_conditions": true,
}

// parseSQLConfig reads a config file: lines "name = value", comments and
// blank lines; a line starting with whitespace continues the one before
// (as in main.cf). A later setting of a name replaces an earlier one.
// Values are taken literally ($name is not expanded, as Postfix's
// cfg_parser does for these files).
func parseSQLConfig(typ, path string, data []byte) (*sqlConfig, error) {
	if len(data) > maxSQLConfig {
		return nil, fmt.Errorf("%s: over %d bytes", path, maxSQLConfig)
	}
	lines, err := logicalLines(path, data)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	c := &sqlConfig{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l.text, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%s, line %d: want \"name = value\"", path, l.line)
		}
		kv[name] = strings.TrimSpace(value)
		if !sqlKeys[typ][name] && !sqlCommonKeys[name] {
			c.unknown = append(c.unknown, name)
		}
	}
	c.dbpath, c.user, c.password, c.dbname = kv["dbpath"], kv["user"], kv["password"], kv["dbname"]
	c.hosts = splitList(kv["hosts"])
	c.domains = splitList(kv["domain"])
	switch typ {
	case "sqlite":
		if c.dbpath == "" {
			return nil, fmt.Errorf("%s: no dbpath", path)
		}
	default:
		if len(c.hosts) == 0 {
			c.hosts = []string{"localhost"}
		}
	}
	q := kv["query"]
	if q == "" { // the pre-2.2 parameters
		if kv["select_field"] == "" || kv["table"] == "" || kv["where_field"] == "" {
			return nil, fmt.Errorf("%s: no query (or select_field, table and where_field)", path)
		}
		q = fmt.Sprintf("SELECT %s FROM %s WHERE %s = '%%s' %s", kv["select_field"], kv["table"], kv["where_field"], kv["additional_conditions"])
	}
	if c.query, err = parseTemplate(q); err != nil {
		return nil, fmt.Errorf("%s: query: %w", path, err)
	}
	rf, ok := kv["result_format"]
	if !ok {
		rf = "%s"
	}
	if c.resultFormat, err = parseTemplate(rf); err != nil {
		return nil, fmt.Errorf("%s: result_format: %w", path, err)
	}
	if v := kv["expansion_limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: expansion_limit %q: want a number, 0 for no limit", path, v)
		}
		c.expansionLimit = n
	}
	return c, nil
}

// splitList splits a Postfix list: blanks and commas separate.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\n' || r == '\r' })
}

// template is a query or result_format with its % expansions:
// %% %s %u %d (%S %U %D) and %1 ... %9 (domain labels from the right).
type template []tpart

type tpart struct {
	lit  string
	verb byte // 0: lit
}

func parseTemplate(s string) (template, error) {
	var t template
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("%q ends with a lone %%", s)
		}
		i++
		v := s[i]
		switch {
		case v == '%':
			lit.WriteByte('%')
			continue
		case strings.IndexByte("sudSUD", v) >= 0, v >= '1' && v <= '9':
		default:
			return nil, fmt.Errorf("invalid %% expansion %%%c (want %%%%, %%s, %%u, %%d, %%S, %%U, %%D or %%1 ... %%9)", v)
		}
		if lit.Len() > 0 {
			t = append(t, tpart{lit: lit.String()})
			lit.Reset()
		}
		t = append(t, tpart{verb: v})
	}
	if lit.Len() > 0 {
		t = append(t, tpart{lit: lit.String()})
	}
	return t, nil
}

// uses reports whether the template has one of the verbs.
func (t template) uses(verbs string) bool {
	for _, p := range t {
		if p.verb != 0 && strings.IndexByte(verbs, p.verb) >= 0 {
			return true
		}
	}
	return false
}

// addrParts splits an address at its last "@" (Postfix's db_common).
func addrParts(s string) (local, domain string, isAddr bool) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// expand fills the template in as Postfix's db_common_expand does. For a
// query, value is the lookup key and key is ""; quote escapes what is
// inserted. For result_format, value is one result and key the lookup key
// (%S %U %D %1-%9 expand the key); quote is nil. ok false means the
// expansion is suppressed: no query (no result), or the value skipped.
func (t template) expand(value, key string, forResult bool, quote func(string) (string, error)) (string, bool, error) {
	if forResult && value == "" {
		return "", false, nil // "When result is empty it is skipped."
	}
	if !forResult {
		key = value
	}
	vLocal, vDomain, vAddr := addrParts(value)
	kLocal, kDomain, kAddr := addrParts(key)
	var labels []string
	var b strings.Builder
	for _, p := range t {
		if p.verb == 0 {
			b.WriteString(p.lit)
			continue
		}
		var s string
		switch p.verb {
		case 's':
			s = value
		case 'S':
			s = key
		case 'u', 'U':
			local, isAddr := vLocal, vAddr
			if p.verb == 'U' {
				local, isAddr = kLocal, kAddr
			}
			if isAddr && local == "" {
				return "", false, nil
			}
			s = local
		case 'd', 'D':
			domain, isAddr := vDomain, vAddr
			if p.verb == 'D' {
				domain, isAddr = kDomain, kAddr
			}
			if !isAddr || domain == "" {
				return "", false, nil
			}
			s = domain
		default: // '1'-'9': labels of the key's domain, from the right
			if !kAddr || kDomain == "" {
				return "", false, nil
			}
			if labels == nil {
				labels = strings.Split(kDomain, ".")
			}
			n := int(p.verb - '0')
			if n > len(labels) || labels[len(labels)-n] == "" {
				return "", false, nil
			}
			s = labels[len(labels)-n]
		}
		if quote != nil {
			q, err := quote(s)
			if err != nil {
				return "", false, err
			}
			s = q
		}
		b.WriteString(s)
	}
	return b.String(), true, nil
}

// expandLiteral is the text of a template without expansions.
func (t template) expandLiteral() string {
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.lit)
	}
	return b.String()
}
