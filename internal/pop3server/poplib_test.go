package pop3server

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"testing"

	"mailwarden/internal/config"
)

// python is Debian's interpreter; its poplib is the client under test.
const python = "/usr/bin/python3"

func runPoplib(t *testing.T, h *harness, mode string) map[string]any {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s not installed (apt-get install python3)", python)
	}
	host, port, _ := net.SplitHostPort(h.addr)
	out, err := exec.CommandContext(t.Context(), python, "testdata/poplib_client.py", host, port, h.caFile, mode).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("poplib_client.py %s: %v\n%s\n%s\nserver log:\n%s", mode, err, out, stderr, h.logs.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	return res
}

func TestPoplib(t *testing.T) {
	body1 := "Subject: one\r\nFrom: a@example.org\r\n\r\nline 1\r\n.dot line\r\nline 3\r\n"
	body2 := "Subject: two\r\n\r\nsecond\r\n"
	for _, mode := range []string{"stls", "ssl"} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, nil, func(o *Options) { o.Implicit = mode == "ssl" })
			uids := h.store.add("alice@example.org", body1, body2)
			res := runPoplib(t, h, mode)
			u := func(i int) string { return fmt.Sprintf("%08X6553F100", uids[i]) }
			want := map[string]any{
				"welcome":      "+OK Mailwarden ready.",
				"bad_pass":     "-ERR [AUTH] Authentication failed.",
				"pass":         "+OK Logged in.",
				"stat":         []any{2.0, float64(len(body1) + len(body2))},
				"list":         []any{fmt.Sprintf("1 %d", len(body1)), fmt.Sprintf("2 %d", len(body2))},
				"uidl":         []any{"1 " + u(0), "2 " + u(1)},
				"uidl1":        "+OK 1 " + u(0),
				"retr1":        []any{"Subject: one", "From: a@example.org", "", "line 1", ".dot line", "line 3"},
				"retr2":        []any{"Subject: two", "", "second"},
				"top1":         []any{"Subject: one", "From: a@example.org", "", "line 1"},
				"dele":         "+OK Marked to be deleted.",
				"retr_deleted": "-ERR Message is deleted.",
				"rset":         "+OK",
				"dele_again":   "+OK Marked to be deleted.",
				"noop":         "+OK",
				"quit":         "+OK Logging out, messages deleted.",
			}
			for k, v := range want {
				if !reflect.DeepEqual(res[k], v) {
					t.Errorf("%s: got %#v, want %#v", k, res[k], v)
				}
			}
			after := toStrings(res["capa_after"])
			if !slices.Contains(after, "USER") || !slices.Contains(after, "SASL") || slices.Contains(after, "STLS") {
				t.Errorf("CAPA after TLS: %v", after)
			}
			if mode == "stls" && !slices.Contains(toStrings(res["capa_before"]), "STLS") {
				t.Errorf("CAPA before STLS: %v", res["capa_before"])
			}
			seen, expunged := h.store.calls("alice@example.org")
			if !slices.Equal(seen, uids[:1]) || !slices.Equal(expunged, uids[1:]) {
				t.Errorf("seen %v, expunged %v", seen, expunged)
			}
			h.waitLog(t, "pop3(alice@example.org): Disconnected: Logged out top=1/")
		})
	}
	t.Run("plaintext refused", func(t *testing.T) {
		h := start(t, func(c *config.Config) { c.Auth.AllowPlaintextLoopback = false })
		res := runPoplib(t, h, "plain-refused")
		if res["user"] != plaintextRefused {
			t.Errorf("USER without TLS: %v", res["user"])
		}
	})
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}
