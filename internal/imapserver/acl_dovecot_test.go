package imapserver

import (
	"slices"
	"strings"
	"testing"
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
