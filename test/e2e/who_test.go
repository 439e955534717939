package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pyWhoSessions logs in IMAP and POP3 sessions with imaplib and poplib,
// each from its own loopback address, prints "ready" and waits for a line
// on stdin; then it reports what each session hears next: a kicked one
// the server's goodbye and the end of the connection, a live one the
// answer to NOOP.
const pyWhoSessions = `
import imaplib, json, poplib, socket, ssl, sys
req = json.loads(sys.stdin.readline())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
orig = socket.create_connection
SRC = ["127.0.0.1"]
def from_src(addr, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kw):
    return orig(addr, timeout, (SRC[0], 0))
socket.create_connection = from_src
sess = []
for s in req["sessions"]:
    SRC[0] = s["src"]
    if s["proto"] == "imap":
        c = imaplib.IMAP4_SSL("127.0.0.1", req["imaps"], ssl_context=ctx, timeout=30)
        c.login(s["user"], req["pass"])
        if s.get("idle"):
            c.select("INBOX")
            c.send(b"i1 IDLE\r\n")
            assert c.readline().startswith(b"+"), "no IDLE continuation"
    else:
        c = poplib.POP3_SSL("127.0.0.1", req["pop3s"], context=ctx, timeout=30)
        c.user(s["user"]); c.pass_(req["pass"])
    sess.append((s, c))
print("ready", flush=True)
sys.stdin.readline()
out = []
for s, c in sess:
    r = {"user": s["user"], "proto": s["proto"]}
    try:
        if s["kicked"]:
            f = c.file
            r["heard"] = f.readline().decode().strip()
            r["then"] = f.readline().decode()
        elif s["proto"] == "imap":
            r["heard"] = c.noop()[0]
            c.logout()
        else:
            r["heard"] = c.noop().decode()
            c.quit()
    except Exception as e:
        r["error"] = repr(e)
    out.append(r)
print(json.dumps(out), flush=True)
`

// TestWhoKick: `mailwarden who` shows the IMAP and POP3 sessions real
// clients hold, by user, with their protocols and addresses; `mailwarden
// kick alice` ends alice's (IMAP told "* BYE", POP3 "-ERR", an IDLE one
// too) and not bob's, and says how many; who then shows bob only.
func TestWhoKick(t *testing.T) {
	t.Parallel()
	requireTool(t, python)
	s := startServer(t, options{}, oneDomain)
	type sess struct {
		User   string `json:"user"`
		Proto  string `json:"proto"`
		Src    string `json:"src"`
		Idle   bool   `json:"idle"`
		Kicked bool   `json:"kicked"`
	}
	req := map[string]any{"imaps": s.IMAPSPort, "pop3s": s.POP3SPort, "pass": "correct horse battery",
		"sessions": []sess{
			{User: "alice@dom.test", Proto: "imap", Src: "127.0.0.3", Kicked: true},
			{User: "alice@dom.test", Proto: "imap", Src: "127.0.0.3", Idle: true, Kicked: true},
			{User: "alice@dom.test", Proto: "pop3", Src: "127.0.0.4", Kicked: true},
			{User: "bob@dom.test", Proto: "imap", Src: "127.0.0.5"},
			{User: "bob@dom.test", Proto: "pop3", Src: "127.0.0.5"},
		}}
	cmd := exec.Command(python, "-c", pyWhoSessions)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	if err := json.NewEncoder(stdin).Encode(req); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 2)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("python ended before %s:\n%s", what, stderr.String())
			}
			return l
		case <-time.After(60 * time.Second):
			t.Fatalf("no %s from python:\n%s", what, stderr.String())
		}
		return ""
	}
	if l := next("ready"); l != "ready" {
		t.Fatalf("python said %q:\n%s", l, stderr.String())
	}

	out := s.admin("who")
	want := regexp.MustCompile(`(?m)^USER\s+CONNECTIONS\s+PROTOCOLS\s+REMOTE\n` +
		`alice@dom\.test\s+3\s+imap,pop3\s+127\.0\.0\.3,127\.0\.0\.4\n` +
		`bob@dom\.test\s+2\s+imap,pop3\s+127\.0\.0\.5\n$`)
	if !want.MatchString(out) {
		t.Fatalf("who:\n%s", out)
	}
	if _, out, _ := s.cli("status"); !regexp.MustCompile(`(?m)^logged in:\s+5 IMAP/POP3 session\(s\)`).MatchString(out) {
		t.Errorf("status:\n%s", out)
	}
	if out := s.admin("who", "127.0.0.4"); !regexp.MustCompile(`(?m)^alice@dom\.test\s+1\s+pop3\s+127\.0\.0\.4$`).MatchString(out) || strings.Contains(out, "bob") {
		t.Fatalf("who 127.0.0.4:\n%s", out)
	}

	if out := s.admin("kick", "alice@dom.test"); out != "alice@dom.test: kicked 3 session(s)\n" {
		t.Fatalf("kick said %q", out)
	}
	if out := s.admin("kick", "nobody@dom.test"); out != "nobody@dom.test: no IMAP or POP3 session\n" {
		t.Fatalf("kick of nobody said %q", out)
	}
	if out := s.admin("who"); strings.Contains(out, "alice") || !regexp.MustCompile(`(?m)^bob@dom\.test\s+2\s+`).MatchString(out) {
		t.Fatalf("who after the kick:\n%s", out)
	}
	io.WriteString(stdin, "go\n")
	var res []struct {
		User, Proto, Heard, Then, Error string
	}
	if err := json.Unmarshal([]byte(next("the report")), &res); err != nil {
		t.Fatal(err)
	}
	wantHeard := []string{"* BYE Disconnected by the administrator.", "* BYE Disconnected by the administrator.",
		"-ERR Disconnected by the administrator.", "OK", "+OK"}
	for i, r := range res {
		if r.Error != "" || !strings.HasPrefix(r.Heard, wantHeard[i]) || r.Then != "" {
			t.Errorf("session %d (%s %s): heard %q, then %q, error %q; want %q, then the end", i, r.User, r.Proto, r.Heard, r.Then, r.Error, wantHeard[i])
		}
	}
	if len(res) != len(wantHeard) {
		t.Fatalf("report: %+v", res)
	}
	s.waitLog(func(l string) bool {
		return strings.Count(l, "(alice@dom.test): Disconnected: Kicked by the administrator") == 3 &&
			strings.Contains(l, `kick "alice@dom.test": ended 3 IMAP/POP3 session(s)`)
	}, "the kicked sessions' log lines")
	// Nothing runs: who says so, with the status exit code.
	s.stop()
	if code, _, errOut := s.cli("who"); code != 3 || !strings.Contains(errOut, "mailwarden is not running") {
		t.Errorf("who without a server: exit %d, %s", code, errOut)
	}
}
