package imapserver

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

// TestMetadata drives GETMETADATA and SETMETADATA (RFC 5464) with the
// examples of its sections 4.2 and 4.3.
func TestMetadata(t *testing.T) {
	h := start(t, nil)
	c := h.login(t, "alice@example.org")
	// RFC 5464 6.2.2: the server's /shared/admin.
	c.expect(`GETMETADATA "" /shared/admin`, `* METADATA "" (/shared/admin "mailto:postmaster@`+h.cfg.Load().Hostname+`")`, "OK Getmetadata completed.")
	c.expect(`GETMETADATA "" /shared/comment`, `* METADATA "" (/shared/comment NIL)`, "OK Getmetadata completed.")
	c.expect(`SETMETADATA "" (/shared/comment "x")`, "NO [CANNOT] The server's shared entries are set by the administrator.")
	c.expect(`SETMETADATA "" (/private/vendor/example/theme "dark")`, "OK Setmetadata completed.")
	c.expect(`GETMETADATA (DEPTH infinity) "" /private`, `* METADATA "" (/private/vendor/example/theme "dark")`, "OK Getmetadata completed.")
	// 4.3: a literal across two lines, and several entries at once.
	c.expect("SETMETADATA INBOX (/private/comment {33+}\r\nMy new comment across\r\ntwo lines.)", "OK Setmetadata completed.")
	c.expect("GETMETADATA INBOX /private/comment", "* METADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)", "OK Getmetadata completed.")
	c.expect(`SETMETADATA INBOX (/shared/comment "My new comment" /private/comment "My own comment")`, "OK Setmetadata completed.")
	c.expect("GETMETADATA INBOX (/shared/comment /private/comment)",
		`* METADATA INBOX (/shared/comment "My new comment" /private/comment "My own comment")`, "OK Getmetadata completed.")
	// Entry names compare without case (3.2).
	c.expect("GETMETADATA INBOX /Private/Comment", `* METADATA INBOX (/private/comment "My own comment")`, "OK Getmetadata completed.")
	// 4.2.1 MAXSIZE: longer values are left out, LONGENTRIES says how long.
	c.expect("GETMETADATA (MAXSIZE 14) INBOX (/shared/comment /private/comment)",
		`* METADATA INBOX (/shared/comment "My new comment" /private/comment "My own comment")`, "OK Getmetadata completed.")
	c.expect("GETMETADATA (MAXSIZE 13) INBOX (/shared/comment /private/comment)", "OK [METADATA LONGENTRIES 14] Getmetadata completed.")
	// 4.2.2 DEPTH.
	c.ok(`SETMETADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/a/b "2" /private/vendor/x/c "3")`)
	c.expect("GETMETADATA INBOX /private/vendor/x", "* METADATA INBOX (/private/vendor/x NIL)", "OK Getmetadata completed.")
	c.expect("GETMETADATA (DEPTH 1) INBOX /private/vendor/x",
		`* METADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/c "3")`, "OK Getmetadata completed.")
	c.expect("GETMETADATA (DEPTH infinity) INBOX /private/vendor",
		`* METADATA INBOX (/private/vendor/x/a "1" /private/vendor/x/a/b "2" /private/vendor/x/c "3")`, "OK Getmetadata completed.")
	c.expect("GETMETADATA (DEPTH 1) INBOX /private/nothing", "OK Getmetadata completed.")
	// NIL removes; an empty string is a value.
	c.ok(`SETMETADATA INBOX (/private/vendor/x/c NIL /private/vendor/x/a "")`)
	c.expect("GETMETADATA INBOX (/private/vendor/x/c /private/vendor/x/a)",
		`* METADATA INBOX (/private/vendor/x/c NIL /private/vendor/x/a "")`, "OK Getmetadata completed.")
	// Binary values travel as literal8.
	c.expect("SETMETADATA INBOX (/private/vendor/x/bin ~{3+}\r\na\x00b)", "OK Setmetadata completed.")
	c.expect("GETMETADATA INBOX /private/vendor/x/bin", "* METADATA INBOX (/private/vendor/x/bin ~{3}\r\na\x00b)", "OK Getmetadata completed.")
	// Bad entry names and unknown mailboxes.
	c.expect(`SETMETADATA INBOX (/foo "x")`, "BAD entry name must begin with /private or /shared")
	c.expect(`GETMETADATA nope /private/comment`, "NO [NONEXISTENT] Mailbox doesn't exist.")
	// Entries follow RENAME and go with DELETE.
	c.ok("CREATE Work")
	c.ok(`SETMETADATA Work (/shared/comment "work" /private/comment "mine")`)
	c.ok("RENAME Work Job")
	c.expect("GETMETADATA Job (/shared/comment /private/comment)", `* METADATA Job (/shared/comment "work" /private/comment "mine")`, "OK Getmetadata completed.")
	c.ok("DELETE Job")
	c.ok("CREATE Job")
	c.expect("GETMETADATA (DEPTH infinity) Job (/shared /private)", "OK Getmetadata completed.")
	// Private entries are per user.
	d := h.login(t, "bob@example.org")
	d.expect(`GETMETADATA "" /private/vendor/example/theme`, `* METADATA "" (/private/vendor/example/theme NIL)`, "OK Getmetadata completed.")
}

// TestMetadataShared: on a folder shared with another user, reading
// /shared entries needs "r", changing them "w"; private entries need
// only "l" and stay the user's.
func TestMetadataShared(t *testing.T) {
	h := start(t, nil)
	a := h.login(t, "alice@example.org")
	a.ok("CREATE Team")
	a.ok(`SETMETADATA Team (/shared/comment "team folder" /private/comment "alice's note")`)
	a.ok("SETACL Team bob@example.org l")
	b := h.login(t, "bob@example.org")
	const team = `"Other Users/alice@example.org/Team"`
	b.expect("GETMETADATA "+team+" /shared/comment", "NO [NOPERM] Permission denied.")
	b.expect("GETMETADATA "+team+" /private/comment", "* METADATA "+team+" (/private/comment NIL)", "OK Getmetadata completed.")
	b.expect("SETMETADATA "+team+` (/private/comment "bob's note")`, "OK Setmetadata completed.")
	a.ok("SETACL Team bob@example.org lr")
	b.expect("GETMETADATA "+team+" (/shared/comment /private/comment)",
		"* METADATA "+team+` (/shared/comment "team folder" /private/comment "bob's note")`, "OK Getmetadata completed.")
	b.expect("SETMETADATA "+team+` (/shared/comment "x")`, "NO [NOPERM] Permission denied.")
	a.ok("SETACL Team bob@example.org lrw")
	b.expect("SETMETADATA "+team+` (/shared/comment "edited by bob")`, "OK Setmetadata completed.")
	a.expect("GETMETADATA Team (/shared/comment /private/comment)",
		`* METADATA Team (/shared/comment "edited by bob" /private/comment "alice's note")`, "OK Getmetadata completed.")
	a.ok("SETACL Team bob@example.org r")
	b.expect("GETMETADATA "+team+" /private/comment", "NO [NONEXISTENT] Mailbox doesn't exist.")
}

// TestMetadataLimits: [METADATA MAXSIZE n] for a value over the limit,
// before its literal is sent, and [METADATA TOOMANY]; nothing of a
// refused SETMETADATA is kept.
func TestMetadataLimits(t *testing.T) {
	h := start(t, func(c *config.Config) {
		c.IMAP.MetadataMaxValueSize = 10
		c.IMAP.MetadataMaxEntries = 3
	})
	c := h.login(t, "alice@example.org")
	c.expect(`SETMETADATA INBOX (/private/a "12345678901")`, "NO [METADATA MAXSIZE 10] Metadata value too big.")
	// A synchronizing literal over the limit is refused instead of
	// being asked for.
	c.n++
	c.send("t" + strconv.Itoa(c.n) + " SETMETADATA INBOX (/private/a {11}")
	if l := c.line(); l != "t"+strconv.Itoa(c.n)+" NO [METADATA MAXSIZE 10] Metadata value too big." {
		t.Fatalf("got %q", l)
	}
	c.expect(`SETMETADATA INBOX (/private/a "1" /private/b "2" /shared/c "3")`, "OK Setmetadata completed.")
	c.expect(`SETMETADATA "" (/private/d "4" /private/a NIL)`, "NO [METADATA TOOMANY] Too many metadata entries.")
	c.expect(`GETMETADATA "" /private/d`, `* METADATA "" (/private/d NIL)`, "OK Getmetadata completed.")
	c.expect(`SETMETADATA INBOX (/private/a NIL)`, "OK Setmetadata completed.")
	c.expect(`SETMETADATA "" (/private/d "4")`, "OK Setmetadata completed.")
	c.expect(`SETMETADATA INBOX (/private/b "replaced")`, "OK Setmetadata completed.")
	if u, tagged := c.cmd(`GETMETADATA (DEPTH infinity) INBOX (/private /shared)`); !strings.HasPrefix(tagged, "OK") || len(u) != 1 {
		t.Fatalf("GETMETADATA: %q %q", u, tagged)
	}
}

// TestMetadataAgainstDovecot runs one imaplib conversation against
// Mailwarden and against Dovecot (imap_metadata with a file dict) and
// compares the answers on folder entries; server entries, binary values
// and the response code for a missing mailbox (RFC 5530 NONEXISTENT,
// which Dovecot leaves out) are checked against the RFCs alone.
func TestMetadataAgainstDovecot(t *testing.T) {
	run := dovecot(t, "imap_metadata = yes", "mail_attribute_dict = file:%h/mail/dovecot-attributes")
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/metadata_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/metadata_cases.py", "stream", run)
	want := map[string][]string{
		"get_missing":        {"INBOX (/private/comment NIL)", "OK"},
		"get_two":            {`INBOX (/private/comment "My own comment" /shared/comment "My new comment")`, "OK"},
		"get_literal":        {"INBOX (/private/comment \"My new comment across\r\ntwo lines.\")", "OK"},
		"maxsize":            {`INBOX (/shared/comment "My new comment")`, "OK [METADATA LONGENTRIES 33]"},
		"depth0":             {"INBOX (/private/vendor/x NIL)", "OK"},
		"depth1":             {`INBOX (/private/vendor/x/a "1" /private/vendor/x/c "3")`, "OK"},
		"depth_none":         {"OK"},
		"after_remove":       {`INBOX (/private/vendor/x/a "" /private/vendor/x/c NIL)`, "OK"},
		"bad_prefix":         {"error: SETMETADATA"},
		"no_mailbox":         {"NO [NONEXISTENT]"}, // Dovecot: NO without a code
		"get_renamed":        {`Job (/private/comment "mine" /shared/comment "work")`, "OK"},
		"get_recreated":      {"Job (/private/comment NIL /shared/comment NIL)", "OK"},
		"server_admin":       {`"" (/shared/admin "mailto:postmaster@` + h.cfg.Load().Hostname + `")`, "OK"},
		"server_set_shared":  {"NO [CANNOT]"},
		"server_set_private": {"OK"},
		"server_get_private": {`"" (/private/vendor/example/theme "dark")`, "OK"},
		"set_binary":         {"OK"},
		"get_binary":         {"INBOX (/private/vendor/x/bin \"a\x00b\")", "OK"},
	}
	for step, got := range ours {
		if w, ok := want[step]; ok && !slices.Equal(got, w) {
			t.Errorf("%s: got %q, want %q", step, got, w)
		}
		if strings.HasPrefix(step, "server_") || strings.HasSuffix(step, "_binary") || step == "no_mailbox" {
			continue
		}
		if ref := theirs[step]; !slices.Equal(got, ref) {
			t.Errorf("%s:\nmailwarden %q\ndovecot    %q", step, got, ref)
		}
	}
	if len(ours) != len(theirs) {
		t.Errorf("%d steps against Mailwarden, %d against Dovecot", len(ours), len(theirs))
	}
}
