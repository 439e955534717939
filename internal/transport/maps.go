package transport

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailwarden/internal/table"
)

// Typed splits a table spec written with a Postfix type prefix
// ("hash:/etc/postfix/transport", "pcre:/x", "sqlite:/x.cf",
// "inline:{...}") into type and name; a plain path is not typed.
func Typed(spec string) (typ, name string, ok bool) {
	typ, name, ok = strings.Cut(spec, ":")
	if !ok {
		return "", "", false
	}
	if typ == "proxy" {
		if t, _, ok := Typed(name); ok {
			return t, name, true // name keeps its own prefix
		}
		return "", "", false
	}
	if !slices.Contains(table.Types(), typ) {
		return "", "", false
	}
	return typ, name, true
}

// FileBased reports whether a table type names a file (whose relative
// name a config file resolves against its own directory).
func FileBased(typ string) bool { return typ != "inline" && typ != "static" }

// rawTable gives a strictly parsed file's results to internal/table (exact
// keys, already folded), so that plain paths reload like every table.
type rawTable map[string]string

func (r rawTable) Lookup(_ context.Context, key string) (string, bool, error) {
	v, ok := r[strings.ToLower(key)]
	return v, ok, nil
}

// openSpec opens a typed spec with internal/table, or a plain path with
// parse (the strict format checks of Parse or ParsePasswords), re-read
// when the file changes either way.
func openSpec(spec string, opts table.Options, parse func(path string, data []byte) (rawTable, error)) (table.Table, bool, error) {
	if typ, _, ok := Typed(spec); ok {
		t, err := table.Open(spec, opts)
		return t, typ == "regexp" || typ == "pcre", err
	}
	t, err := table.OpenFile("file", spec, opts, func(path string, data []byte) (table.Table, error) {
		r, err := parse(path, data)
		if err != nil {
			return nil, err
		}
		return r, nil
	})
	return t, false, err
}

// Map is a transport(5) table of any Postfix type, re-read when its file
// changes. It is safe for concurrent use.
type Map struct {
	spec    string
	t       table.Table
	pattern bool // regexp:/pcre:: only the full address is looked up
}

// OpenMap opens a transport table: "type:name" for any table type
// internal/table reads, or a plain path, read as transport(5) text with
// every line checked (as Load does).
func OpenMap(spec string, opts table.Options) (*Map, error) {
	t, pattern, err := openSpec(spec, opts, func(path string, data []byte) (rawTable, error) {
		tab, err := Parse(path, data)
		if err != nil {
			return nil, err
		}
		return tab.raw, nil
	})
	if err != nil {
		return nil, fmt.Errorf("transport table: %w", err)
	}
	return &Map{spec: spec, t: t, pattern: pattern}, nil
}

// Route finds the route for a recipient address in transport(5) order:
// user@domain, domain, each parent domain written ".domain" (nearest
// first), then "*"; regexp: and pcre: tables see the full address only,
// as in Postfix. A result that is not transport:nexthop is an error, as
// is a table that cannot be read (both temporary failures).
func (m *Map) Route(ctx context.Context, addr string) (Route, bool, error) {
	addr = strings.ToLower(strings.TrimSuffix(addr, "."))
	keys := []string{addr}
	if !m.pattern {
		keys = transportKeys(addr)
	}
	for _, k := range keys {
		v, ok, err := m.t.Lookup(ctx, k)
		if err != nil {
			return Route{}, false, fmt.Errorf("transport table %s: %w", m.spec, err)
		}
		if !ok {
			continue
		}
		r, err := ParseResult(strings.TrimSpace(v))
		if err != nil {
			return Route{}, false, fmt.Errorf("transport table %s: result for %q: %w", m.spec, k, err)
		}
		return r, true, nil
	}
	return Route{}, false, nil
}

// Close releases the table's connections (sql: tables).
func (m *Map) Close() error { return table.Close(m.t) }

// transportKeys is the transport(5) search order for an address.
func transportKeys(addr string) []string {
	var keys []string
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		keys = append(keys, addr)
		domain := addr[i+1:]
		if domain != "" {
			keys = append(keys, domain)
		}
		for j := strings.IndexByte(domain, '.'); j >= 0; {
			keys = append(keys, domain[j:])
			k := strings.IndexByte(domain[j+1:], '.')
			if k < 0 {
				break
			}
			j += 1 + k
		}
	}
	return append(keys, "*")
}

// PasswordMap is a sasl_passwd table of any Postfix type (Postfix's
// smtp_sasl_password_maps), re-read when its file changes.
type PasswordMap struct {
	spec string
	t    table.Table
}

// OpenPasswords opens a password table: "type:name", or a plain path read
// as sasl_passwd text with every line checked (as LoadPasswords does).
func OpenPasswords(spec string, opts table.Options) (*PasswordMap, error) {
	t, _, err := openSpec(spec, opts, func(path string, data []byte) (rawTable, error) {
		ps, err := ParsePasswords(path, data)
		if err != nil {
			return nil, err
		}
		r := make(rawTable, len(ps))
		for k, c := range ps {
			r[k] = c.Username + ":" + c.Password
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("password table: %w", err)
	}
	return &PasswordMap{spec: spec, t: t}, nil
}

// Credentials finds the credentials for a next hop: first as written
// ("[smtp.example.com]:587"), then in its normal form, then by host name
// alone. The value is "username:password"; without a colon the password
// is empty, as in Postfix. Errors never quote the value.
func (p *PasswordMap) Credentials(ctx context.Context, nexthop string) (Credentials, bool, error) {
	for _, k := range passwordKeys(nexthop) {
		v, ok, err := p.t.Lookup(ctx, k)
		if err != nil {
			return Credentials{}, false, fmt.Errorf("password table %s: %w", p.spec, err)
		}
		if ok {
			user, pass, _ := strings.Cut(strings.TrimSpace(v), ":")
			return Credentials{Username: user, Password: pass}, true, nil
		}
	}
	return Credentials{}, false, nil
}

// Close releases the table's connections (sql: tables).
func (p *PasswordMap) Close() error { return table.Close(p.t) }

func passwordKeys(nexthop string) []string {
	keys := []string{strings.ToLower(strings.TrimSpace(nexthop))}
	if h, err := ParseHop(nexthop); err == nil {
		for _, k := range []string{strings.ToLower(h.String()), strings.ToLower(h.Host)} {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}
