package e2e

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// sqlFixture is the schema and rows every SQL table test loads; backslash
// says how a backslash is written in a string literal of that database.
func sqlFixture(backslash string) []string {
	return []string{
		`CREATE TABLE access (k VARCHAR(255) PRIMARY KEY, v VARCHAR(255))`,
		`INSERT INTO access VALUES ('spammer@example.com', 'REJECT go away'), ('example.net', 'OK'),
			('o''brien@example.com', 'OK quoted'), ('back` + backslash + `slash', 'DUNNO backslash'), ('empty', ''), ('nullv', NULL),
			('100%', 'percent')`,
		`CREATE TABLE alias (addr VARCHAR(255), target VARCHAR(255))`,
		`INSERT INTO alias VALUES ('list@example.com', 'a@x.test'), ('list@example.com', 'b@y.test'),
			('one@example.com', 'only@x.test'), ('nolocal@example.com', '@bare.test'), ('plain@example.com', 'plainname'),
			('one@other.test', 'other@x.test')`,
	}
}

// sqlConfigs are the query parts of the *_table(5) files compared: they
// exercise %s, %u, %d, %U, %D, %1 ..., %%, result_format, domain and
// several rows and columns.
var sqlConfigs = map[string]string{
	"access.cf": "query = SELECT v FROM access WHERE k = '%s'\n",
	"alias.cf": "# aliases, only for example.com\nquery = SELECT target FROM alias\n  WHERE addr = '%u@%d' ORDER BY target\n" +
		"result_format = smtp:[%d] for %U at %D\ndomain = example.com\n",
	"labels.cf":  "query = SELECT v FROM access WHERE k = '%2.%1'\n",
	"columns.cf": "query = SELECT v, k FROM access WHERE k = '%s'\n",
	"percent.cf": "query = SELECT v FROM access WHERE k = '%s%%'\n",
	"legacy.cf":  "select_field = v\ntable = access\nwhere_field = k\nadditional_conditions = AND v <> 'OK'\n",
}

var sqlKeys = []string{
	"spammer@example.com", "SPAMMER@Example.COM", "example.net", "o'brien@example.com", "x' OR '1'='1", `back\slash`,
	"empty", "nullv", "missing", "list@example.com", "one@example.com", "one@other.test", "nolocal@example.com",
	"plain@example.com", "@example.com", "example.com", "user@mail.example.net", "user@net", "100", "100%",
}

// TestSQLTablesMatchPostfix: `mailwarden postmap -q` answers as Postfix's
// postmap does for the same sqlite:, pgsql: and mysql: config files and
// databases (Postfix's postfix-sqlite, postfix-pgsql and postfix-mysql
// against a private PostgreSQL and MariaDB server each).
func TestSQLTablesMatchPostfix(t *testing.T) {
	postmap, confDir := realPostmap(t)
	out, _ := exec.Command("/usr/sbin/postconf", "-c", confDir, "-m").Output()
	for _, typ := range []string{"sqlite", "pgsql", "mysql"} {
		if !bytes.Contains(out, []byte(typ)) {
			if os.Getenv("CI") == "true" {
				t.Fatalf("Postfix has no %s: tables: apt-get install postfix-%s", typ, typ)
			}
			t.Skipf("postfix-%s not installed", typ)
		}
	}
	dir := t.TempDir()
	writeConfigs := func(typ, head string) []string {
		var specs []string
		for name, body := range sqlConfigs {
			p := filepath.Join(dir, typ+"-"+name)
			if err := os.WriteFile(p, []byte(head+body), 0o644); err != nil {
				t.Fatal(err)
			}
			specs = append(specs, typ+":"+p)
		}
		return specs
	}

	t.Run("sqlite", func(t *testing.T) {
		dbPath := filepath.Join(dir, "tables.db")
		db, err := sql.Open("sqlite", "file:"+dbPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sqlFixture(`\`) {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		db.Close()
		os.Chmod(dbPath, 0o644)
		specs := writeConfigs("sqlite", "dbpath = "+dbPath+"\n")
		compareLookups(t, postmap, confDir, specs, sqlKeys)
	})
	t.Run("pgsql", func(t *testing.T) {
		port, psql := privatePostgres(t)
		for _, s := range sqlFixture(`\`) {
			psql(s)
		}
		specs := writeConfigs("pgsql", fmt.Sprintf("hosts = inet:127.0.0.1:%d\nuser = postgres\ndbname = postgres\n", port))
		compareLookups(t, postmap, confDir, specs, sqlKeys)
	})
	t.Run("mysql", func(t *testing.T) {
		sock, port, mysql := privateMariaDB(t)
		mysql("CREATE DATABASE mail; CREATE USER 'mw'@'127.0.0.1' IDENTIFIED BY 'pw-s3cret'; " +
			"CREATE USER 'mw'@'localhost' IDENTIFIED BY 'pw-s3cret'; " +
			"GRANT SELECT ON mail.* TO 'mw'@'127.0.0.1'; GRANT SELECT ON mail.* TO 'mw'@'localhost'")
		for _, s := range sqlFixture(`\\`) {
			mysql("USE mail; " + s)
		}
		creds := "user = mw\npassword = pw-s3cret\ndbname = mail\n"
		specs := writeConfigs("mysql", fmt.Sprintf("hosts = inet:127.0.0.1:%d\n", port)+creds)
		// Over the socket too.
		p := filepath.Join(dir, "mysql-unix.cf")
		if err := os.WriteFile(p, []byte("hosts = unix:"+sock+"\n"+creds+sqlConfigs["access.cf"]), 0o644); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, "mysql:"+p)
		compareLookups(t, postmap, confDir, specs, sqlKeys)
	})
}

// compareLookups runs every key against every table with both postmaps,
// one key at a time and all keys on stdin.
func compareLookups(t *testing.T, postmap, confDir string, specs, keys []string) {
	t.Helper()
	for _, spec := range specs {
		found := 0
		for _, key := range keys {
			want, wantCode := runLookup(t, "", postmap, "-c", confDir, "-q", key, spec)
			got, gotCode := runLookup(t, "", mwBin, "postmap", "-q", key, spec)
			if got != want || gotCode != wantCode {
				t.Errorf("%s, key %q: mailwarden printed %q (exit %d), Postfix %q (exit %d)", spec, key, got, gotCode, want, wantCode)
			}
			if wantCode == 0 {
				found++
			}
		}
		if found == 0 {
			t.Errorf("%s: no key found by Postfix: the comparison proves nothing", spec)
		}
		in := strings.Join(keys, "\n") + "\n"
		want, wantCode := runLookup(t, in, postmap, "-c", confDir, "-q", "-", spec)
		got, gotCode := runLookup(t, in, mwBin, "postmap", "-q", "-", spec)
		if got != want || gotCode != wantCode {
			t.Errorf("%s, keys on stdin: mailwarden printed\n%s(exit %d), Postfix\n%s(exit %d)", spec, got, gotCode, want, wantCode)
		}
	}
}
