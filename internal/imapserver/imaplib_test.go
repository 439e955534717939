package imapserver

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"mailwarden/internal/config"
)

// python is Debian's interpreter; its imaplib is an independent client.
const python = "/usr/bin/python3"

func runImaplib(t *testing.T, h *harness, mode string) map[string]any {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", python)
		}
		t.Skipf("%s not installed (apt-get install python3)", python)
	}
	host, port, _ := net.SplitHostPort(h.addr)
	out, err := exec.CommandContext(t.Context(), python, "testdata/imaplib_client.py", host, port, h.caFile, mode).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("imaplib_client.py %s: %v\n%s\n%s\nserver log:\n%s", mode, err, out, stderr, h.logs.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	return res
}

func TestImaplib(t *testing.T) {
	for _, mode := range []string{"starttls", "ssl"} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false }, func(o *Options) { o.Implicit = mode == "ssl" })
			res := runImaplib(t, h, mode)
			uv, _ := h.folder(t, "alice@example.org", "INBOX")
			uvWork, _ := h.folder(t, "alice@example.org", "Work")
			msg := "From: a@example.org\r\nSubject: hello\r\n\r\nbody line\r\n"
			want := map[string]any{
				"bad_login": "b'[AUTHENTICATIONFAILED] Authentication failed.'",
				"login":     "OK",
				"list": []any{
					`(\HasNoChildren) "." INBOX`, `(\HasNoChildren \Drafts) "." Drafts`, `(\HasNoChildren \Junk) "." Junk`,
					`(\HasNoChildren \Sent) "." Sent`, `(\HasNoChildren \Trash) "." Trash`},
				"create":         "OK",
				"append":         []any{fmt.Sprintf("[APPENDUID %d 1] Append completed.", uv)},
				"select":         []any{"1"},
				"fetch_flags":    []any{`1 (UID 1 FLAGS (\Flagged \Recent))`},
				"fetch_body":     []any{[]any{fmt.Sprintf("1 (UID 1 BODY[] {%d}", len(msg)), msg}, ")"},
				"fetch_header":   []any{[]any{"1 (BODY[HEADER.FIELDS (SUBJECT)] {18}", "Subject: hello\r\n\r\n"}, ")"},
				"store":          []any{`1 (UID 1 FLAGS (\Flagged \Seen \Recent))`},
				"search":         []any{"1"},
				"search_subject": []any{"1"},
				"copy":           "OK",
				"copyuid":        []any{fmt.Sprintf("%d 1 1", uvWork)},
				"status":         []any{"Work (MESSAGES 1 UIDNEXT 2)"},
				"move":           "OK",
				"after_move":     []any{"0"},
				"append2":        "OK",
				"noop":           "OK",
				"store_deleted":  "OK",
				"expunge":        []any{"1"},
				"namespace":      []any{`(("" ".")) (("Other Users/" "/")) (("Shared/" "/"))`},
				"quotaroot":      []any{"INBOX"},
				"close":          "OK",
				"logout":         "BYE",
			}
			caps := res["caps"]
			delete(res, "caps")
			if !reflect.DeepEqual(res, want) {
				for k, v := range want {
					if !reflect.DeepEqual(res[k], v) {
						t.Errorf("%s: got %#v, want %#v", k, res[k], v)
					}
				}
			}
			if !strings.Contains(fmt.Sprint(caps), "IDLE") {
				t.Errorf("capabilities %v", caps)
			}
		})
	}
}
