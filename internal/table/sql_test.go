package table

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// sqliteDB makes a SQLite database with the given statements.
func sqliteDB(t *testing.T, stmts ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tables.db")
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return p
}

var testRows = []string{
	`CREATE TABLE access (k TEXT PRIMARY KEY, v TEXT, extra TEXT)`,
	`INSERT INTO access VALUES ('spammer@example.com', 'REJECT go away', 'x'), ('example.net', 'OK', NULL),
		('o''brien@example.com', 'OK quoted', NULL), ('back\slash', 'DUNNO', NULL), ('empty', '', NULL), ('null', NULL, NULL)`,
	`CREATE TABLE alias (addr TEXT, target TEXT)`,
	`INSERT INTO alias VALUES ('list@example.com', 'a@x.test'), ('list@example.com', 'b@y.test'), ('list@example.com', 'c@y.test'),
		('one@example.com', 'only@x.test'), ('nolocal@example.com', '@bare.test'), ('plain@example.com', 'plainname')`,
	`CREATE TABLE domains (d TEXT, v TEXT)`,
	`INSERT INTO domains VALUES ('mail.example.com', 'label2 match')`,
}

// TestSQLite: a sqlite_table(5) config file, its % expansions, quoting,
// result_format, domain and expansion_limit as Postfix does them.
func TestSQLite(t *testing.T) {
	db := sqliteDB(t, testRows...)
	dir := t.TempDir()
	cf := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("dbpath = "+db+"\n"+text), 0o600); err != nil {
			t.Fatal(err)
		}
		return "sqlite:" + p
	}
	cases := []struct {
		name, conf string
		probes     []probe
	}{
		{"access", "query = SELECT v FROM access WHERE k = '%s'\n", []probe{
			{"Spammer@Example.COM", "REJECT go away", true},
			{"example.net", "OK", true},
			{"o'brien@example.com", "OK quoted", true},
			{"x' OR '1'='1", "", false},
			{`back\slash`, "DUNNO", true},
			{"empty", "", false},
			{"null", "", false},
			{"missing", "", false},
		}},
		{"first column only", "query = SELECT v, extra FROM access WHERE k = '%s'\n", []probe{
			{"spammer@example.com", "REJECT go away", true},
		}},
		{"several rows, result_format", "query = SELECT target FROM alias WHERE addr = '%s'\nresult_format = <%s> %u at %d for %U@%D\n", []probe{
			{"list@example.com", "<a@x.test> a at x.test for list@example.com,<b@y.test> b at y.test for list@example.com,<c@y.test> c at y.test for list@example.com", true},
			{"nolocal@example.com", "", false},
			{"plain@example.com", "", false},
		}},
		{"local and domain parts", "query = SELECT target FROM alias WHERE addr = '%u' || '@' || '%d'\n", []probe{
			{"one@example.com", "only@x.test", true},
			{"example.com", "", false},
			{"@example.com", "", false},
		}},
		{"%u of a bare key", "query = SELECT v FROM access WHERE k = '%u'\n", []probe{
			{"example.net", "OK", true},
		}},
		{"labels", "query = SELECT v FROM domains WHERE d = '%3.%2.%1'\n", []probe{
			{"user@mail.example.com", "label2 match", true},
			{"user@example.com", "", false},
			{"mail.example.com", "", false},
		}},
		{"percent", "query = SELECT v FROM access WHERE k LIKE '%%' || '%s'\nexpansion_limit = 1\n", []probe{
			{"example.net", "OK", true},
		}},
		{"domain restriction", "query = SELECT target FROM alias WHERE addr = '%s'\ndomain = other.test, Example.com\n", []probe{
			{"one@example.com", "only@x.test", true},
			{"one@EXAMPLE.com", "only@x.test", true},
			{"example.com", "", false},
			{"@example.com", "", false},
		}},
		{"domain restriction excludes", "query = SELECT target FROM alias WHERE addr = '%s'\ndomain = other.test\n", []probe{
			{"one@example.com", "", false},
		}},
		{"legacy parameters", "select_field = v\ntable = access\nwhere_field = k\nadditional_conditions = AND v <> ''\n", []probe{
			{"example.net", "OK", true},
		}},
		{"continuation and comments", "# comment\nquery = SELECT v\n  FROM access\n  WHERE k = '%s'\n", []probe{
			{"example.net", "OK", true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab, err := Open(cf(strings.ReplaceAll(c.name, " ", "_")+".cf", c.conf), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer tab.(interface{ Close() error }).Close()
			check(t, tab, c.probes)
		})
	}

	// expansion_limit exceeded: a temporary failure.
	tab, err := Open(cf("limit.cf", "query = SELECT target FROM alias WHERE addr = '%s'\nexpansion_limit = 2\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"one@example.com", "only@x.test", true}})
	if _, _, err := tab.Lookup(context.Background(), "list@example.com"); !errors.Is(err, errExpansionLimit) {
		t.Errorf("3 values, limit 2: err %v", err)
	}
	// A bad query is a lookup error naming the file.
	bad := cf("bad.cf", "query = SELECT nothing FROM nowhere WHERE k = '%s'\n")
	tab, err = Open(bad, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tab.Lookup(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad, "sqlite:")) {
		t.Errorf("bad query: err %v", err)
	}
}

// TestSQLReload: an edited config file takes effect without a restart.
func TestSQLReload(t *testing.T) {
	db := sqliteDB(t, testRows...)
	p := filepath.Join(t.TempDir(), "a.cf")
	write := func(q string) {
		if err := os.WriteFile(p, []byte("dbpath = "+db+"\nquery = "+q+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("SELECT v FROM access WHERE k = '%s'")
	now := time.Unix(1000, 0)
	tab, err := Open("sqlite:"+p, Options{Now: func() time.Time { return now }, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"example.net", "OK", true}})
	write("SELECT 'changed ' || v FROM access WHERE k = '%s'")
	now = now.Add(2 * time.Second)
	check(t, tab, []probe{{"example.net", "changed OK", true}})
	write("SELECT %x")
	now = now.Add(2 * time.Second)
	check(t, tab, []probe{{"example.net", "changed OK", true}})
}

func TestSQLConfigErrors(t *testing.T) {
	cases := []struct{ typ, text, want string }{
		{"sqlite", "query = SELECT 1\n", "no dbpath"},
		{"sqlite", "dbpath = /x\n", "no query"},
		{"sqlite", "dbpath = /x\nquery = SELECT '%x'\n", "invalid % expansion %x"},
		{"sqlite", "dbpath = /x\nquery = SELECT 1 %\n", "lone %"},
		{"sqlite", "dbpath = /x\nquery = SELECT 1\nresult_format = %q\n", "result_format: invalid"},
		{"sqlite", "dbpath = /x\nquery = SELECT 1\nexpansion_limit = -1\n", "expansion_limit"},
		{"sqlite", "dbpath /x\n", "line 1: want \"name = value\""},
		{"pgsql", "hosts = postgresql://[bad\nquery = SELECT 1\n", "hosts"},
	}
	for _, c := range cases {
		p := writeFile(t, "x.cf", c.text)
		_, err := Open(c.typ+":"+p, Options{Logf: func(string, ...any) {}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s %q: err %v, want %q naming %s", c.typ, c.text, err, c.want, p)
		}
	}
}

func TestQuote(t *testing.T) {
	cases := []struct {
		f        func(string) (string, error)
		in, want string
	}{
		{quoteSQLite, `a'b\c`, `a''b\c`},
		{quotePgSQL, `a'b\c`, `a''b\c`},
		{quoteMySQL, "a'b\\c\"d\x00e\nf\rg\x1ah", `a\'b\\c\"d\0e\nf\rg\Zh`},
	}
	for _, c := range cases {
		if got, err := c.f(c.in); err != nil || got != c.want {
			t.Errorf("quote(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := quotePgSQL("\xff"); err == nil {
		t.Error("pgsql quote of invalid UTF-8 succeeded")
	}
}

func TestTemplateExpand(t *testing.T) {
	cases := []struct {
		tpl, value, key string
		result          bool
		want            string
		ok              bool
	}{
		{"%s", "u@d.example", "", false, "u@d.example", true},
		{"%u/%d", "u@d.example", "", false, "u/d.example", true},
		{"%u", "bare", "", false, "bare", true},
		{"%d", "bare", "", false, "", false},
		{"%u", "@d.example", "", false, "", false},
		{"%1.%2", "u@a.b.c", "", false, "c.b", true},
		{"%4", "u@a.b.c", "", false, "", false},
		{"%1", "a.b.c", "", false, "", false},
		{"x%%y", "k", "", false, "x%y", true},
		{"%s", "", "key", true, "", false},
		{"[%s] %U %D %1", "r@v.test", "k@d.example", true, "[r@v.test] k d.example example", true},
		{"%d", "plain", "k@d", true, "", false},
		{"a@b@c %u %d", "a@b@c", "", false, "a@b@c a@b c", true},
	}
	for _, c := range cases {
		tp, err := parseTemplate(c.tpl)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := tp.expand(c.value, c.key, c.result, nil)
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("%q on %q/%q: %q, %v, %v; want %q, %v", c.tpl, c.value, c.key, got, ok, err, c.want, c.ok)
		}
	}
}

func FuzzSQLConfig(f *testing.F) {
	for _, s := range []string{
		"dbpath = /x\nquery = SELECT v FROM t WHERE k = '%s' AND d = '%d' AND l = '%1'\nresult_format = smtp:[%s] %U\ndomain = a, b\nexpansion_limit = 3\n",
		"hosts = unix:/run/x inet:h:1 [::1]:5432 postgresql://u@h/db\nuser = u\npassword = p\ndbname = d\nquery = SELECT 1\n",
		"select_field = a\ntable = b\nwhere_field = c\n", "query = %", " x = y\n", "a\n",
	} {
		f.Add("sqlite", s, "user@mail.example.com")
		f.Add("pgsql", s, "o'brien")
		f.Add("mysql", s, "x\\y")
	}
	f.Fuzz(func(t *testing.T, typ, text, key string) {
		if sqlKeys[typ] == nil {
			return
		}
		c, err := parseSQLConfig(typ, "fuzz", []byte(text))
		if err != nil {
			return
		}
		for _, q := range []func(string) (string, error){quoteSQLite, quotePgSQL, quoteMySQL} {
			if s, ok, err := c.query.expand(key, "", false, q); err == nil && ok && !c.query.uses("sudSUD123456789") && s != c.query.expandLiteral() {
				t.Fatalf("template without expansions changed: %q", s)
			}
		}
		c.resultFormat.expand(key, key, true, nil)
		for _, h := range c.hosts {
			splitHost(h)
			if typ == "mysql" {
				mysqlConfig(h, c)
			}
		}
	})
}

// TestSQLDroppedTableCloses: a table dropped without Close (lists
// replaced by a reload) closes its connection pools once collected.
func TestSQLDroppedTableCloses(t *testing.T) {
	db := sqliteDB(t, testRows...)
	tab, err := openSQL("sqlite", "x.cf", []byte("dbpath = "+db+"\nquery = SELECT v FROM access WHERE k = '%s'\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, tab, []probe{{"example.net", "OK", true}})
	pool := tab.(*sqlTable).dbs[0]
	tab = nil
	for i := 0; ; i++ {
		runtime.GC()
		if err := pool.Ping(); err != nil && strings.Contains(err.Error(), "database is closed") {
			return
		}
		if i == 100 {
			t.Fatal("the dropped table's pool is still open")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
