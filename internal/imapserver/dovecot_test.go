package imapserver

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dovecotIMAP is Dovecot's IMAP server (Debian's dovecot-imapd), run here
// as a preauthenticated process on stdin/stdout: the reference the
// tests compare Mailwarden's answers with.
const dovecotIMAP = "/usr/lib/dovecot/imap"

// dovecot makes a private Dovecot configuration with an empty Maildir and
// returns a command that starts one preauthenticated IMAP session on it
// (imaplib.IMAP4_stream runs it once per connection).
func dovecot(t *testing.T, extraConf ...string) string {
	t.Helper()
	if _, err := os.Stat(dovecotIMAP); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install dovecot-imapd)", dovecotIMAP)
		}
		t.Skipf("%s not installed (apt-get install dovecot-imapd)", dovecotIMAP)
	}
	dir := t.TempDir()
	// Dovecot refuses to serve mail as root: it runs as nobody then.
	uid, gid, user := os.Getuid(), os.Getgid(), os.Getenv("USER")
	if uid == 0 {
		uid, gid, user = 65534, 65534, "nobody"
		for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if user == "" {
		user = "mailwarden-test"
	}
	for _, d := range []string{"mail", "run", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil && os.Getuid() == 0 {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`protocols = imap
mail_location = maildir:%[1]s/mail
log_path = %[1]s/log
ssl = no
base_dir = %[1]s/run
state_dir = %[1]s/state
mail_uid = %[2]d
mail_gid = %[3]d
first_valid_uid = %[2]d
first_valid_gid = %[3]d
`, dir, uid, gid) + strings.Join(extraConf, "\n")
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("#!/bin/sh\nUSER=%s HOME=%s exec %s -c %s/dovecot.conf\n", user, dir, dovecotIMAP, dir)
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte(run), 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "run.sh")
}

// runScript runs a testdata script with /usr/bin/python3 and decodes the
// JSON it prints.
func runScript(t *testing.T, script string, args ...string) map[string][]string {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", python)
		}
		t.Skipf("%s not installed (apt-get install python3)", python)
	}
	cmd := exec.CommandContext(t.Context(), python, append([]string{script}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s\n%s", script, args, err, out, stderr.String())
	}
	var res map[string][]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s output %q: %v", script, out, err)
	}
	return res
}

var (
	reTagged  = regexp.MustCompile(`^[A-Za-z0-9]+ (OK|NO|BAD)( \[[^\]]*\])?.*$`)
	reUntagOK = regexp.MustCompile(`^\* (OK|NO|BAD|BYE)( \[[^\]]*\])?.*$`)
	reNumbers = regexp.MustCompile(`(UIDVALIDITY|APPENDUID|HIGHESTMODSEQ|COPYUID) \d+`)
	reModSeq  = regexp.MustCompile(`MODSEQ \(\d+\)`)
	reFlags   = regexp.MustCompile(`(FLAGS|PERMANENTFLAGS|LIST|LSUB) \(([^()]*)\)`)
	reFetch   = regexp.MustCompile(`^\* (\d+) FETCH \((.*)\)$`)
	reItem    = regexp.MustCompile(`([A-Z0-9.]+) (\([^()]*(?:\([^()]*\))?[^()]*\)|\S+)`)
)

// normalize makes two servers' lines comparable: tags and human text go,
// numbers that are each server's own (UIDVALIDITY, MODSEQ) become N,
// flag and attribute lists are sorted, the CHILDREN attributes (which
// Mailwarden always sends and Dovecot only on request) are dropped, and
// FETCH items are sorted, without the UID an unrequested item carries.
func normalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		// Dovecot 2.3 has no OBJECTID (RFC 8474): its MAILBOXID codes go.
		if strings.HasPrefix(l, "* OK [MAILBOXID ") {
			continue
		}
		l = reMailboxIDCode.ReplaceAllString(l, "OK")
		switch {
		case strings.HasPrefix(l, "+"):
			l = "+"
		case reTagged.MatchString(l):
			m := reTagged.FindStringSubmatch(l)
			l = m[1] + m[2]
		case reUntagOK.MatchString(l):
			m := reUntagOK.FindStringSubmatch(l)
			l = "* " + m[1] + m[2]
		}
		l = reNumbers.ReplaceAllString(l, "$1 N")
		l = reModSeq.ReplaceAllString(l, "MODSEQ (N)")
		l = strings.ReplaceAll(l, `"CHILDINFO"`, "CHILDINFO")
		l = reFlags.ReplaceAllStringFunc(l, func(s string) string {
			m := reFlags.FindStringSubmatch(s)
			var fs []string
			for _, f := range strings.Fields(m[2]) {
				if f != `\HasChildren` && f != `\HasNoChildren` {
					fs = append(fs, f)
				}
			}
			slices.Sort(fs)
			return m[1] + " (" + strings.Join(fs, " ") + ")"
		})
		if m := reFetch.FindStringSubmatch(l); m != nil {
			var items []string
			for _, it := range reItem.FindAllStringSubmatch(m[2], -1) {
				if it[1] != "UID" {
					items = append(items, it[0])
				}
			}
			slices.Sort(items)
			l = "* " + m[1] + " FETCH (" + strings.Join(items, " ") + ")"
		}
		out = append(out, l)
	}
	return out
}

// TestRFCCasesAgainstDovecot runs one imaplib conversation against
// Mailwarden and against Dovecot and compares every answer: \Recent
// across two sessions (RFC 3501 2.3.2), DELETE keeping the subscription
// (RFC 3501 6.3.4, RFC 5258 3.1), CHILDINFO (RFC 5258 3.5), SEARCH FROM
// on the parsed address, the implicit CONDSTORE enable (RFC 7162 3.1) and
// FLAGS before the FETCH that shows a new keyword.
func TestRFCCasesAgainstDovecot(t *testing.T) {
	run := dovecot(t)
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/rfc_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/rfc_cases.py", "stream", run)
	// Steps whose answers must be these (Mailwarden's, normalized); the
	// rest must only equal Dovecot's.
	want := map[string][]string{
		"list_subscribed_gone": {`* LIST (\NonExistent \Subscribed) "." Gone`, "OK"},
		"lsub_gone":            {`* LSUB () "." Gone`, "OK"},
		"list_gone":            {"OK"},
		"lsub_gone_after":      {"OK"},
		"childinfo_star":       {`* LIST (\Subscribed) "." Foo.Bar`, "OK"},
		"childinfo_percent":    {`* LIST (\NonExistent) "." Foo (CHILDINFO ("SUBSCRIBED"))`, "OK"},
		"fetch_flags_a":        {`* 1 FETCH (FLAGS (\Recent))`, `* 2 FETCH (FLAGS ())`, "OK"},
		"fetch_flags_b":        {`* 1 FETCH (FLAGS ())`, `* 2 FETCH (FLAGS (\Recent))`, "OK"},
		"search_from":          {"* SEARCH 1", "OK"},
		"fetch_modseq":         {"* OK [HIGHESTMODSEQ N]", "* 1 FETCH (MODSEQ (N))", "OK"},
		"fetch_modseq_again":   {"* 1 FETCH (MODSEQ (N))", "OK"},
		"store_keyword": {`* FLAGS ($Label1 \Answered \Deleted \Draft \Flagged \Seen)`,
			`* OK [PERMANENTFLAGS ($Label1 \* \Answered \Deleted \Draft \Flagged \Seen)]`,
			`* 2 FETCH (FLAGS ($Label1 \Recent))`, "OK"},
	}
	for step, lines := range theirs {
		got, ref := normalize(ours[step]), normalize(lines)
		if strings.HasPrefix(step, "select_") {
			// Mailwarden sends HIGHESTMODSEQ at every SELECT (RFC 7162
			// 3.1.2.1 allows it); Dovecot once CONDSTORE is on.
			got = slices.DeleteFunc(got, func(l string) bool { return strings.HasPrefix(l, "* OK [HIGHESTMODSEQ") })
		}
		if !slices.Equal(got, ref) {
			t.Errorf("%s:\nmailwarden %q\ndovecot    %q", step, got, ref)
		}
		if w, ok := want[step]; ok && !slices.Equal(got, w) {
			t.Errorf("%s: got %q, want %q", step, got, w)
		}
	}
	if len(ours) != len(theirs) {
		t.Errorf("%d steps against Mailwarden, %d against Dovecot", len(ours), len(theirs))
	}
}
