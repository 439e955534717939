package imapserver

import (
	"slices"
	"strings"
	"testing"
)

// TestPreviewAgainstDovecot: FETCH PREVIEW and PREVIEW (LAZY) (RFC 8970)
// through imaplib give Dovecot's previews: quoted lines left out, white
// space folded, at most 200 characters, decoded UTF-8 (a literal for a
// client without UTF8=ACCEPT), the plain part of an alternative, "" for
// a message without text.
func TestPreviewAgainstDovecot(t *testing.T) {
	run := dovecot(t)
	h := start(t, nil)
	host, port, _ := strings.Cut(h.addr, ":")
	ours := runScript(t, "testdata/preview_cases.py", "tcp", host, port, "alice@example.org", testPass)
	theirs := runScript(t, "testdata/preview_cases.py", "stream", run)
	want := []string{
		`1 (PREVIEW "Hello Bob, the meeting is at 10. See you!")`,
		`2 (PREVIEW "Yes, agreed. On Monday Bob wrote:")`,
		`3 (PREVIEW "` + strings.TrimSpace(strings.Repeat("word ", 40)) + `")`,
		"4 (PREVIEW {20}|Grüße aus München",
		`5 (PREVIEW "Plain version")`,
		`6 (PREVIEW "")`,
		`7 (PREVIEW "")`,
	}
	for _, k := range []string{"PREVIEW", "PREVIEW (LAZY)"} {
		if !slices.Equal(ours[k], theirs[k]) {
			t.Errorf("%s:\nmailwarden %q\ndovecot    %q", k, ours[k], theirs[k])
		}
		if !slices.Equal(ours[k], want) {
			t.Errorf("%s: got %q, want %q", k, ours[k], want)
		}
	}
}
