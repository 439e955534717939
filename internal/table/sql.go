package table

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" driver (pure Go)
)

// SQLTimeout bounds one sqlite:/pgsql:/mysql: lookup (connecting
// included); a slower one is a temporary failure.
const SQLTimeout = 10 * time.Second

// sqlTable is a sqlite:, pgsql: or mysql: table: a query per lookup, on
// the first of the configured servers that answers.
type sqlTable struct {
	typ, path string
	cfg       *sqlConfig
	dbs       []*sql.DB // one per host, in config order
	quote     func(string) (string, error)
	domains   func(ctx context.Context, domain string) (bool, error)
	closers   []Table // tables of the domain list
}

// openSQL builds the table for a parsed config file. No connection is made
// until the first lookup.
func openSQL(typ, path string, data []byte, opts Options) (Table, error) {
	c, err := parseSQLConfig(typ, path, data)
	if err != nil {
		return nil, err
	}
	t := &sqlTable{typ: typ, path: path, cfg: c}
	if len(c.unknown) > 0 {
		logWith(opts, "table %s:%s: parameters not used by Mailwarden: %s", typ, path, strings.Join(c.unknown, ", "))
	}
	switch typ {
	case "sqlite":
		t.quote = quoteSQLite
		db, err := sql.Open("sqlite", sqliteDSN(c.dbpath))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t.dbs = []*sql.DB{db}
	case "pgsql":
		t.quote = quotePgSQL
		for _, h := range c.hosts {
			pc, err := pgsqlConfig(h, c)
			if err != nil {
				t.Close()
				return nil, fmt.Errorf("%s: hosts: %w", path, err)
			}
			t.dbs = append(t.dbs, stdlib.OpenDB(*pc))
		}
	case "mysql":
		t.quote = quoteMySQL
		for _, h := range c.hosts {
			mc, err := mysqlConfig(h, c)
			if err != nil {
				t.Close()
				return nil, fmt.Errorf("%s: hosts: %w", path, err)
			}
			conn, err := mysql.NewConnector(mc)
			if err != nil {
				t.Close()
				return nil, fmt.Errorf("%s: hosts: %w", path, err)
			}
			t.dbs = append(t.dbs, sql.OpenDB(conn))
		}
	}
	for _, db := range t.dbs {
		// Idle connections close after about a minute, as Postfix's do.
		db.SetMaxIdleConns(2)
		db.SetConnMaxIdleTime(time.Minute)
		db.SetMaxOpenConns(16)
	}
	// A table its owner drops without Close (restriction lists replaced
	// by a config reload) still closes its pools, and their goroutines.
	runtime.AddCleanup(t, closeDBs, t.dbs)
	if len(c.domains) > 0 {
		if t.domains, err = t.domainList(c.domains, opts); err != nil {
			t.Close()
			return nil, fmt.Errorf("%s: domain: %w", path, err)
		}
	}
	return t, nil
}

// domainList builds the "domain" restriction: names (exact, ignoring
// case), "/file" (names in a file) and "type:table" (found = listed).
func (t *sqlTable) domainList(items []string, opts Options) (func(context.Context, string) (bool, error), error) {
	names := map[string]bool{}
	var tabs []Table
	for _, it := range items {
		switch {
		case strings.HasPrefix(it, "/"):
			tab, err := openFile("domain list", it, opts, func(p string, data []byte) (Table, error) {
				m := mapTable{}
				for _, w := range splitList(strings.Join(strings.Fields(stripComments(string(data))), " ")) {
					m[foldKey(w)] = w
				}
				return m, nil
			})
			if err != nil {
				return nil, err
			}
			tabs = append(tabs, tab)
		case strings.Contains(it, ":"):
			tab, err := Open(it, opts)
			if err != nil {
				return nil, err
			}
			tabs = append(tabs, tab)
		default:
			names[strings.ToLower(it)] = true
		}
	}
	t.closers = tabs
	return func(ctx context.Context, d string) (bool, error) {
		d = strings.ToLower(d)
		if names[d] {
			return true, nil
		}
		for _, tab := range tabs {
			_, ok, err := tab.Lookup(ctx, d)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}, nil
}

// stripComments drops #-comment lines of a list file.
func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && t[0] != '#' {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Lookup runs the query for key (folded to lower case, as Postfix's
// postmap and the access maps do) and joins the formatted values of every
// row and column with commas, skipping NULLs and empty values.
func (t *sqlTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	key = foldKey(key)
	if strings.IndexByte(key, 0) >= 0 {
		return "", false, nil // cannot be in a C string, as Postfix's keys
	}
	if t.domains != nil {
		local, domain, isAddr := addrParts(key)
		if !isAddr || local == "" || domain == "" {
			return "", false, nil
		}
		ok, err := t.domains(ctx, domain)
		if err != nil {
			return "", false, fmt.Errorf("table %s:%s: domain list: %w", t.typ, t.path, err)
		}
		if !ok {
			return "", false, nil
		}
	}
	q, ok, err := t.cfg.query.expand(key, "", false, t.quote)
	if err != nil {
		return "", false, fmt.Errorf("table %s:%s: %w", t.typ, t.path, err)
	}
	if !ok {
		return "", false, nil // suppressed: the key lacks a part the query needs
	}
	ctx, cancel := context.WithTimeout(ctx, SQLTimeout)
	defer cancel()
	var errs []error
	for _, i := range rand.Perm(len(t.dbs)) { // hosts in random order, as Postfix
		v, found, err := t.query(ctx, t.dbs[i], q, key)
		if err == nil {
			return v, found, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return "", false, fmt.Errorf("table %s:%s: %w", t.typ, t.path, errors.Join(errs...))
}

// errExpansionLimit is wrapped when a lookup returns more values than
// expansion_limit.
var errExpansionLimit = errors.New("expansion_limit exceeded")

func (t *sqlTable) query(ctx context.Context, db *sql.DB, q, key string) (string, bool, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", false, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	use := vals
	if t.typ == "sqlite" && len(use) > 1 {
		use = use[:1] // Postfix's sqlite: reads the first column only
	}
	var out strings.Builder
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", false, err
		}
		for _, v := range use {
			if !v.Valid {
				continue
			}
			s, ok, _ := t.cfg.resultFormat.expand(v.String, key, true, nil)
			if !ok {
				continue
			}
			n++
			if t.cfg.expansionLimit > 0 && n > t.cfg.expansionLimit {
				return "", false, fmt.Errorf("%w (%d) for key %q", errExpansionLimit, t.cfg.expansionLimit, key)
			}
			if out.Len() > 0 {
				out.WriteByte(',')
			}
			out.WriteString(s)
			if out.Len() > MaxFileSize {
				return "", false, fmt.Errorf("result for key %q over %d bytes", key, MaxFileSize)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return "", false, err
	}
	if out.Len() == 0 {
		return "", false, nil
	}
	return out.String(), true, nil
}

func closeDBs(dbs []*sql.DB) {
	for _, db := range dbs {
		db.Close()
	}
}

// Close closes the connections (and the domain list's tables).
func (t *sqlTable) Close() error {
	closeDBs(t.dbs)
	for _, c := range t.closers {
		if cl, ok := c.(interface{ Close() error }); ok {
			cl.Close()
		}
	}
	return nil
}

func logWith(opts Options, format string, args ...any) {
	(&fileTable{opts: opts}).logf(format, args...)
}

// sqliteDSN opens the database read-only: a lookup table never writes.
func sqliteDSN(path string) string {
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path)}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	u.RawQuery = q.Encode()
	return u.String()
}

// quoteSQLite escapes as sqlite3_mprintf's %q: single quotes doubled.
func quoteSQLite(s string) (string, error) {
	return strings.ReplaceAll(s, "'", "''"), nil
}

// quotePgSQL escapes as PQescapeStringConn does on a connection with
// standard_conforming_strings on (Mailwarden sets it on every
// connection): single quotes doubled, backslashes as they are. Like
// PQescapeStringConn it refuses text that is not valid in the client
// encoding (UTF-8).
func quotePgSQL(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("key is not valid UTF-8 (the client encoding)")
	}
	return strings.ReplaceAll(s, "'", "''"), nil
}

// quoteMySQL escapes as mysql_real_escape_string does for utf8mb4 (the
// connection's character set) with backslash escapes in force (Mailwarden
// takes NO_BACKSLASH_ESCAPES out of the session's sql_mode): NUL, \n, \r,
// \, ', " and Ctrl-Z get a backslash.
func quoteMySQL(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\', '\'', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// splitHost reads a hosts entry: "unix:/path", "inet:host[:port]",
// "host[:port]" ("[v6]:port" too).
func splitHost(h string) (unix bool, host, port string) {
	if p, ok := strings.CutPrefix(h, "unix:"); ok {
		return true, p, ""
	}
	h = strings.TrimPrefix(h, "inet:")
	if strings.HasPrefix(h, "/") {
		return true, h, ""
	}
	if hh, pp, err := net.SplitHostPort(h); err == nil {
		return false, hh, pp
	}
	return false, strings.Trim(h, "[]"), ""
}

// pgsqlConfig gives the pgx configuration for one hosts entry: a
// postgresql:// URI, "unix:/socket/directory", or "[inet:]host[:port]".
func pgsqlConfig(h string, c *sqlConfig) (*pgx.ConnConfig, error) {
	var pc *pgx.ConnConfig
	var err error
	if strings.HasPrefix(h, "postgresql://") || strings.HasPrefix(h, "postgres://") {
		pc, err = pgx.ParseConfig(h)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", h, err)
		}
	} else {
		_, host, port := splitHost(h)
		kv := []string{"host=" + pgQuote(host)}
		if port != "" {
			kv = append(kv, "port="+pgQuote(port))
		}
		pc, err = pgx.ParseConfig(strings.Join(kv, " "))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", h, err)
		}
	}
	if c.user != "" {
		pc.User = c.user
	}
	if c.password != "" {
		pc.Password = c.password
	}
	if c.dbname != "" {
		pc.Database = c.dbname
	}
	if pc.ConnectTimeout == 0 || pc.ConnectTimeout > SQLTimeout {
		pc.ConnectTimeout = SQLTimeout
	}
	// Quoting relies on it; one round trip per lookup, like PQexec.
	pc.RuntimeParams["standard_conforming_strings"] = "on"
	pc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pc, nil
}

// pgQuote quotes a libpq keyword/value connection string value.
func pgQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// mysqlConfig gives the driver configuration for one hosts entry.
func mysqlConfig(h string, c *sqlConfig) (*mysql.Config, error) {
	mc := mysql.NewConfig()
	unix, host, port := splitHost(h)
	switch {
	case unix:
		mc.Net, mc.Addr = "unix", host
	case host == "localhost": // libmysqlclient: the default socket
		mc.Net, mc.Addr = "unix", "/run/mysqld/mysqld.sock"
	default:
		if port == "" {
			port = "3306"
		}
		mc.Net, mc.Addr = "tcp", net.JoinHostPort(host, port)
	}
	if host == "" {
		return nil, fmt.Errorf("%q: no host", h)
	}
	mc.User, mc.Passwd, mc.DBName = c.user, c.password, c.dbname
	mc.Timeout, mc.ReadTimeout, mc.WriteTimeout = SQLTimeout, SQLTimeout, SQLTimeout
	mc.Params = map[string]string{
		// quoteMySQL escapes with backslashes: they must be escapes.
		"sql_mode": "REPLACE(@@sql_mode,'NO_BACKSLASH_ESCAPES','')",
	}
	return mc, nil
}
