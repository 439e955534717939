package imapserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailwarden/internal/testutil"
)

// dovecotACL is the configuration of Dovecot's acl plugins: ACLs in
// dovecot-acl files (vfile), as a Dovecot admin enables them.
const dovecotACL = `mail_plugins = acl
protocol imap {
  mail_plugins = $mail_plugins imap_acl
}
plugin {
  acl = vfile
  acl_anyone = allow
}
`

// sortACL writes the entries of an ACL response in identifier order,
// each with its letters sorted ("c" and "d" last), the owner (the entry
// with every right) as OWNER: Dovecot keeps entries and letters in the
// order of its files.
func sortACL(l string) string {
	f := strings.Fields(l)
	if len(f) < 3 || f[0] != "*" || f[1] != "ACL" || len(f)%2 != 1 {
		return l
	}
	var pairs []string
	for i := 3; i+1 < len(f); i += 2 {
		id, r := f[i], []byte(strings.Trim(f[i+1], "cd"))
		slices.Sort(r)
		tail := f[i+1][len(strings.TrimRight(f[i+1], "cd")):]
		if f[i+1] == "lrwstipekxacd" {
			id = "OWNER"
		}
		pairs = append(pairs, id+" "+string(r)+tail)
	}
	slices.Sort(pairs)
	return strings.Join(f[:3], " ") + " " + strings.Join(pairs, " ")
}

// TestACLAgainstDovecot runs the ACL commands on one's own folder
// against Mailwarden and against Dovecot with its acl plugins and
// compares the answers; only the owner's name differs (an address
// here, the system user there).
func TestACLAgainstDovecot(t *testing.T) {
	run := dovecot(t, dovecotACL)
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/acl_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/acl_cases.py", "stream", run)
	norm := func(lines []string) []string {
		out := normalize(lines)
		for i, l := range out {
			if strings.HasPrefix(l, "error: ") {
				l, _, _ = strings.Cut(l, "[") // the human text differs
			}
			out[i] = sortACL(l)
		}
		return out
	}
	// Answers that must be these (Mailwarden's, normalized), beyond
	// equal to Dovecot's.
	want := map[string][]string{
		"myrights":   {"* MYRIGHTS Work lrwstipekxacd", "OK"},
		"getacl":     {"* ACL Work OWNER aeiklprstwxcd anyone l bob@example.org ilrs", "OK"},
		"getacl_cd":  {"* ACL Work OWNER aeiklprstwxcd anyone l bob@example.org ilr carol@example.org klrxc dave@example.org elrtd", "OK"},
		"listrights": {`* LISTRIGHTS Work bob@example.org "" l r w s t p i e k x a c d`, "OK"},
	}
	for step, lines := range theirs {
		got, ref := norm(ours[step]), norm(lines)
		if step == "caps" {
			for _, c := range []string{"ACL", "RIGHTS=texk"} {
				for _, side := range [][]string{got, ref} {
					if !slices.ContainsFunc(side, func(l string) bool { return slices.Contains(strings.Fields(l), c) }) {
						t.Errorf("%s not in CAPABILITY %q", c, side)
					}
				}
			}
			continue
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

// dovecotShared is Dovecot with its acl plugins and a shared namespace
// named as Mailwarden's ("Other Users/<user>/", "/" as separator), users
// in HOME/<domain>/<name>/Maildir.
const dovecotShared = `namespace inbox {
  inbox = yes
  separator = /
  prefix =
}
namespace {
  type = shared
  separator = /
  prefix = Other Users/%%u/
  location = maildir:%HOME%/%%d/%%n/Maildir:INDEXPVT=~/Maildir/shared/%%u
  list = children
  subscriptions = no
}
mail_plugins = acl
protocol imap {
  mail_plugins = $mail_plugins imap_acl
}
plugin {
  acl = vfile
  acl_anyone = allow
}
`

// dovecotAs writes a script that runs Dovecot's imap preauthenticated
// as user (of example.org), for imaplib's IMAP4_stream.
func dovecotAs(t *testing.T, d *testutil.Dovecot, user string) string {
	t.Helper()
	name, domain, _ := strings.Cut(user, "@")
	drop := ""
	if os.Getuid() == 0 {
		drop = "setpriv --reuid=65534 --regid=65534 --clear-groups "
	}
	p := filepath.Join(d.Base, "imap-"+name+".sh")
	script := fmt.Sprintf("#!/bin/sh\nUSER=%s HOME=%s exec %s%s -c %s 2>/dev/null\n",
		user, filepath.Join(d.Home, domain, name), drop, dovecotIMAP, d.Conf)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestACLImportAgainstDovecot: alice sets ACLs with SETACL on Dovecot
// (acl = vfile writes dovecot-acl files); `acl import` (store.ImportACL)
// reads those files after import-maildir took her folders; then alice,
// bob, carol and dave ask both servers MYRIGHTS and GETACL on each
// folder and get the same answers. The group entry ($team) is reported
// skipped, not imported.
func TestACLImportAgainstDovecot(t *testing.T) {
	if _, err := os.Stat(dovecotIMAP); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (apt-get install dovecot-imapd)", dovecotIMAP)
		}
		t.Skipf("%s not installed (apt-get install dovecot-imapd)", dovecotIMAP)
	}
	d := testutil.StartDovecot(t, testutil.DovecotOptions{MailLocation: "maildir:~/Maildir", UserHome: "%HOME%/%d/%n", Extra: dovecotShared})
	setup := runScript(t, "testdata/acl_import.py", "setup", "stream", dovecotAs(t, d, "alice@example.org"))
	for step, lines := range setup {
		if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "OK") && !strings.Contains(lines[len(lines)-1], " OK ") {
			t.Fatalf("Dovecot %s: %q\n%s", step, lines, d.Log())
		}
	}

	h := start(t, nil)
	h.addUser(t, "carol@example.org")
	h.addUser(t, "dave@example.org")
	ctx := context.Background()
	alice := h.account("alice@example.org")
	maildir := filepath.Join(d.Home, "example.org", "alice", "Maildir")
	if _, err := h.store.Import(ctx, alice, maildir); err != nil {
		t.Fatal(err)
	}
	st, err := h.store.ImportACL(ctx, alice, maildir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Folders != 4 || st.Entries != 9 || len(st.Skipped) != 1 || !strings.Contains(st.Skipped[0], `"group=team": groups are not supported`) {
		t.Fatalf("import: %+v", st)
	}

	host, port, _ := strings.Cut(h.addr, ":")
	folders := []string{"INBOX", "Work", "Work/Sub", "Team"}
	for _, user := range []string{"alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"} {
		theirNames, ourNames := slices.Clone(folders), slices.Clone(folders)
		for i, f := range folders {
			if user != "alice@example.org" {
				theirNames[i] = "Other Users/alice@example.org/" + f
				ourNames[i] = theirNames[i]
			} else {
				ourNames[i] = strings.ReplaceAll(f, "/", ".")
			}
		}
		theirs := runScript(t, "testdata/acl_import.py", append([]string{"rights", "stream", dovecotAs(t, d, user)}, theirNames...)...)
		ours := runScript(t, "testdata/acl_import.py", append([]string{"rights", "tcp", host, port, user, testPass}, ourNames...)...)
		for step, lines := range theirs {
			i, _ := strconv.Atoi(strings.Fields(step)[1])
			norm := func(lines []string, name string) []string {
				out := normalize(lines)
				for k, l := range out {
					if strings.HasPrefix(l, "error: ") {
						l, _, _ = strings.Cut(l, "[")
					}
					l = strings.Replace(l, " "+strconv.Quote(name)+" ", " MAILBOX ", 1)
					l = strings.Replace(l, " "+name+" ", " MAILBOX ", 1)
					// Mailwarden does not import group entries.
					l = regexp.MustCompile(` \$team \S+`).ReplaceAllString(l, "")
					out[k] = sortPairs(l)
				}
				return out
			}
			got, ref := norm(ours[step], ourNames[i]), norm(lines, theirNames[i])
			if !slices.Equal(got, ref) {
				t.Errorf("%s %s %s:\nmailwarden %q\ndovecot    %q", user, step, folders[i], got, ref)
			}
		}
	}
	// Per-user \Seen (Dovecot: INDEXPVT on the shared namespace): the
	// same sessions on both servers, alternating between alice (the
	// owner, her Work) and bob (lrs, through Other Users/), answer the
	// same FLAGS, STORE and STATUS. \Recent (which session saw a message
	// first) is left out.
	sessions := []struct {
		user    string
		actions []string
	}{
		{"bob@example.org", []string{"select", "flags", "read", "flags"}},
		{"alice@example.org", []string{"select", "flags"}},
		{"bob@example.org", []string{"status"}},
		{"alice@example.org", []string{"select", "seen+", "flags"}},
		{"bob@example.org", []string{"select", "flags", "seen-", "flags"}},
		{"bob@example.org", []string{"status"}}, // not selected: Dovecot adds [CLIENTBUG] then
		{"alice@example.org", []string{"select", "flags"}},
		{"bob@example.org", []string{"select", "seen+", "flags"}},
		{"alice@example.org", []string{"status"}},
	}
	for i, ses := range sessions {
		ourBox, theirBox := "Work", "Work"
		if ses.user != "alice@example.org" {
			ourBox, theirBox = "Other Users/alice@example.org/Work", "Other Users/alice@example.org/Work"
		}
		theirs := runScript(t, "testdata/acl_import.py", append([]string{"seen", "stream", dovecotAs(t, d, ses.user), theirBox}, ses.actions...)...)
		ours := runScript(t, "testdata/acl_import.py", append([]string{"seen", "tcp", host, port, ses.user, testPass, ourBox}, ses.actions...)...)
		for step, lines := range theirs {
			norm := func(lines []string) []string {
				var out []string
				for _, l := range normalize(lines) {
					if strings.HasSuffix(step, " select") || strings.HasSuffix(step, " read") {
						if l == "OK" || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BAD") {
							out = append(out, l)
						}
						continue
					}
					l = strings.ReplaceAll(strings.ReplaceAll(l, ` \Recent`, ""), `\Recent `, "")
					l = strings.ReplaceAll(l, `(\Recent)`, "()")
					l = strings.Replace(l, strconv.Quote(theirBox), "MAILBOX", 1)
					l = strings.Replace(l, " "+theirBox+" ", " MAILBOX ", 1)
					out = append(out, l)
				}
				return out
			}
			if got, ref := norm(ours[step]), norm(lines); !slices.Equal(got, ref) {
				t.Errorf("session %d (%s) %s:\nmailwarden %q\ndovecot    %q", i, ses.user, step, got, ref)
			}
		}
	}
}

// sortPairs writes the entries of an ACL response in identifier order,
// each with its letters sorted ("c" and "d" last): Dovecot keeps them in
// the order of its files.
func sortPairs(l string) string {
	f := strings.Fields(l)
	if len(f) < 3 || f[0] != "*" || f[1] != "ACL" || len(f)%2 != 1 {
		return l
	}
	var pairs []string
	for i := 3; i+1 < len(f); i += 2 {
		r := []byte(strings.TrimRight(f[i+1], "cd"))
		slices.Sort(r)
		pairs = append(pairs, f[i]+" "+string(r)+f[i+1][len(r):])
	}
	slices.Sort(pairs)
	return strings.Join(f[:3], " ") + " " + strings.Join(pairs, " ")
}
