package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// realPostmap returns Postfix's postmap(1) and a private config directory
// for it (a minimal main.cf in a temp dir: no system Postfix is read or
// touched). It skips, or fails under CI=true, when Postfix is missing.
func realPostmap(t *testing.T) (bin, confDir string) {
	t.Helper()
	bin = "/usr/sbin/postmap"
	if _, err := os.Stat(bin); err != nil {
		requireTool(t, "postmap")
		bin = "postmap"
	}
	confDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "main.cf"), []byte("compatibility_level = 3.6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return bin, confDir
}

// runLookup runs a lookup command and returns its stdout and exit code.
func runLookup(t *testing.T, stdin string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MAILWARDEN_CONFIG=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	}
	t.Fatalf("%s %q: %v\n%s", name, args, err, errb.String())
	return "", -1
}

// TestPostmapMatchesPostfix: `mailwarden postmap -q` gives the same answer
// (printed value and exit status) as Postfix's own `postmap -q` for the
// same table files and keys: hash: (which Postfix must first compile into
// a .db, Mailwarden reads the text), regexp:, pcre:, cidr:, inline: and
// static:.
func TestPostmapMatchesPostfix(t *testing.T) {
	postmap, confDir := realPostmap(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hash := write("access", `# sender access
Spammer@Example.COM        REJECT go away
example.net                OK
.sub.example.org           DISCARD
user@                      550 5.7.1 no such user anywhere
multi                      first part
   and the continued part
  # an indented comment
dup                        first
dup                        second
192.168.1                  REJECT   trailing blanks   
2001:db8:                  OK
<>                         DUNNO
`)
	if out, err := exec.Command(postmap, "-c", confDir, "hash:"+hash).CombinedOutput(); err != nil {
		t.Fatalf("postmap hash:%s: %v\n%s", hash, err, out)
	}
	regexpFile := write("helo.regexp", `# regexp_table(5)
/^(.*)@(example\.com)$/      local $1 of ${2} costs $$5
/^\[?[0-9.]+\]?$/            REJECT bare IP literal
!/\./                        REJECT not a domain
if /^mail/
/\.example\.org$/            OK mail host
!/^mail\.example/            DUNNO other mail host
endif
/Exact/i                     case sensitive
%^a/b$%                      delimiter
/(a|ab)(c|bcd)(d*)/          [$1|$2|$3]
/^(x)(y)?z$/                 x=$1 y=$(2)
/^long/                      REJECT a result
   split over lines
`)
	cidrFile := write("clients.cidr", `# cidr_table(5)
192.168.1.7        host7
192.168.0.0/16     lan
!10.0.0.0/8        outside ten
if 10.1.0.0/16
10.1.2.0/24        ten-one-two
endif
2001:db8::/32      doc6
[::1]              loopback6
if !192.0.2.0/24
fe80::/10          link-local inside an IPv4 if
endif
if !fe80::/10
192.0.2.0/24       doc4 inside an IPv6 if
endif
::/0               any6
`)
	keys := []string{
		"spammer@example.com", "SPAMMER@EXAMPLE.COM", "Spammer@Example.COM", "example.net", "EXAMPLE.NET",
		".sub.example.org", "sub.example.org", "user@", "multi", "dup", "192.168.1", "2001:db8:", "<>",
		"nothere", "joe@example.com", "Joe@Example.Com", "[192.0.2.1]", "192.0.2.1", "localhost",
		"mail.example.org", "MAIL.example.org", "mail.other.net", "mail.example.net", "Exact", "exact",
		"a/b", "abcd", "xz", "xyz", "longer", "192.168.1.7", "192.168.200.1", "10.1.2.3", "10.1.3.3",
		"10.2.3.4", "172.16.0.1", "2001:db8::1", "2001:DB8:0::1", "::1", "fe80::1", "not-an-ip",
	}
	tables := []string{
		"hash:" + hash,
		"regexp:" + regexpFile,
		"cidr:" + cidrFile,
		"inline:{ Key1=value1, { key2 = text with spaces }, KEY3=x }",
		"static:fixed answer",
		"static:{ braced answer }",
	}
	// pcre: is a separate Debian package (postfix-pcre).
	if out, _ := exec.Command("/usr/sbin/postconf", "-c", confDir, "-m").Output(); bytes.Contains(out, []byte("pcre")) {
		pcreFile := write("body.pcre", `# pcre_table(5)
/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/    reversed $4.$3.$2.$1
/^ mail \s* \. (\w+) $/x          x-mode $1
/^Case$/i                         case sensitive
/^[a-z]+@(example\.com)$/         in $1
if !/@/
/^local/                          local name
endif
# RE2 cannot run these: Mailwarden's backtracking engine does.
/^(?!postmaster@)([^@]+)@example\.org$/  user $1
/^(\w+)\.\1\.test$/                      repeated $1
/(?<=@)(mail|smtp)\./                    relay host $1
/^(?<u>[a-z]+)\+(\w+)@site\.org$/        ext $2 of $1
/^(?P<w>\w)(?P=w)\k<w>$/                 triple $1
/^a++b$/                                 possessive
/^(?>x+)x$/                              atomic never matches
/^Exact(?=!)/i                           exact case
if /(?<!bad)\.net$/
/^[[:digit:]]+\.net$/                    digits
endif
/^(\d+)-\g{1}-\g{-1}$/                    g-refs $1
/^(a)?(?=b)(b)z$/                        opt [$1|$2]
`)
		tables = append(tables, "pcre:"+pcreFile)
		keys = append(keys, "1.2.3.4", "mail.box", "Case", "case", "joe@example.com", "local", "local@x",
			"joe@example.org", "postmaster@example.org", "abc.abc.test", "abc.abd.test", "x@mail.example",
			"joe+lists@site.org", "zzz", "zzy", "aaab", "xxxx", "Exact!", "exact!", "12.net", "bad.net", "7-7-7", "7-7-8", "bz", "abz")
	} else if os.Getenv("CI") == "true" {
		t.Fatal("Postfix has no pcre: table support: apt-get install postfix-pcre")
	} else {
		t.Log("postfix-pcre not installed: pcre: not compared")
	}
	for _, spec := range tables {
		for _, key := range keys {
			want, wantCode := runLookup(t, "", postmap, "-c", confDir, "-q", key, spec)
			got, gotCode := runLookup(t, "", mwBin, "postmap", "-q", key, spec)
			if got != want || gotCode != wantCode {
				t.Errorf("%s, key %q: mailwarden printed %q (exit %d), Postfix %q (exit %d)", spec, key, got, gotCode, want, wantCode)
			}
		}
		// Keys on stdin: "key<TAB>value" for each one found.
		in := strings.Join(keys, "\n") + "\n"
		want, wantCode := runLookup(t, in, postmap, "-c", confDir, "-q", "-", spec)
		got, gotCode := runLookup(t, in, mwBin, "postmap", "-q", "-", spec)
		if got != want || gotCode != wantCode {
			t.Errorf("%s, keys on stdin: mailwarden printed\n%s(exit %d), Postfix\n%s(exit %d)", spec, got, gotCode, want, wantCode)
		}
	}
	// An error (no such file) is exit 2 and says which file.
	_, code := runLookup(t, "", mwBin, "postmap", "-q", "x", "hash:"+filepath.Join(dir, "missing"))
	if code != 2 {
		t.Errorf("missing table file: exit %d, want 2", code)
	}
}
