package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// pyPOP3Script runs one POP3 session with Python's poplib and prints what
// it saw as JSON. Request on stdin: port, tls ("stls" | "implicit" |
// "none"), user, pass, dele (message numbers), retr (message numbers).
const pyPOP3Script = `
import json, poplib, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
res = {}
try:
    if req["tls"] == "implicit":
        p = poplib.POP3_SSL("127.0.0.1", req["port"], context=ctx, timeout=30)
    else:
        p = poplib.POP3("127.0.0.1", req["port"], timeout=30)
    res["capa_before"] = sorted(p.capa().keys())
    if req["tls"] == "none":
        try:
            p.user(req["user"])
            res["plain_user"] = "accepted"
        except poplib.error_proto as e:
            res["plain_user"] = e.args[0].decode()
        p.quit()
        print(json.dumps(res)); sys.exit(0)
    if req["tls"] == "stls":
        p.stls(context=ctx)
        res["capa_after"] = sorted(p.capa().keys())
    try:
        p.user(req["user"]); p.pass_(req["pass"])
    except poplib.error_proto as e:
        res["login"] = e.args[0].decode()
        print(json.dumps(res)); sys.exit(0)
    res["login"] = "ok"
    res["stat"] = list(p.stat())
    res["uidl"] = [l.decode() for l in p.uidl()[1]]
    res["retr"] = {}
    for n in req.get("retr", []):
        res["retr"][str(n)] = b"\n".join(p.retr(n)[1]).decode("utf-8", "replace")
    res["top"] = b"\n".join(p.top(1, 0)[1]).decode("utf-8", "replace") if res["stat"][0] else ""
    for n in req.get("dele", []):
        p.dele(n)
    p.quit()
except Exception as e:
    res["error"] = repr(e)
print(json.dumps(res))
`

type pop3Result struct {
	CapaBefore []string          `json:"capa_before"`
	CapaAfter  []string          `json:"capa_after"`
	PlainUser  string            `json:"plain_user"`
	Login      string            `json:"login"`
	Stat       []int             `json:"stat"`
	UIDL       []string          `json:"uidl"`
	Retr       map[string]string `json:"retr"`
	Top        string            `json:"top"`
	Error      string            `json:"error"`
}

func (s *server) pop3(req map[string]any) pop3Result {
	s.t.Helper()
	body, _ := json.Marshal(req)
	cmd := exec.Command(python, "-c", pyPOP3Script)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("poplib script: %v\n%s", err, out)
	}
	var r pop3Result
	if err := json.Unmarshal(out, &r); err != nil {
		s.t.Fatalf("poplib output %q: %v", out, err)
	}
	if r.Error != "" {
		s.t.Fatalf("poplib: %s", r.Error)
	}
	return r
}

func TestPOP3(t *testing.T) {
	requireTool(t, python)
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "pop.test")
		s.addUser("carol@pop.test")
	})
	const pw = "correct horse battery"
	var ids []string
	for i, subj := range []string{"first", "second", "third"} {
		id := newMessageID("pop3")
		ids = append(ids, id)
		body := strings.Repeat("line of text\n", 10*(i+1)) + ".starts with a dot\n"
		s.send("sender@far.test", "carol@pop.test", message("sender@far.test", "carol@pop.test", subj, id, body))
	}

	// Without TLS a password is never accepted from a non-loopback-exempt client.
	r := s.pop3(map[string]any{"port": s.POP3Port, "tls": "none", "user": "carol@pop.test"})
	if !strings.Contains(r.PlainUser, "-ERR") || contains(r.CapaBefore, "USER") {
		t.Fatalf("plaintext USER before STLS: %q, capabilities %v", r.PlainUser, r.CapaBefore)
	}
	if !contains(r.CapaBefore, "STLS") || !contains(r.CapaBefore, "UIDL") {
		t.Fatalf("CAPA before STLS: %v", r.CapaBefore)
	}

	// Wrong password.
	r = s.pop3(map[string]any{"port": s.POP3Port, "tls": "stls", "user": "carol@pop.test", "pass": "wrong password"})
	if !strings.Contains(r.Login, "[AUTH]") {
		t.Fatalf("wrong password: login = %q", r.Login)
	}

	// Leave mail on server: two sessions see the same UIDLs.
	r1 := s.pop3(map[string]any{"port": s.POP3Port, "tls": "stls", "user": "carol@pop.test", "pass": pw, "retr": []int{1}})
	if r1.Login != "ok" || len(r1.Stat) != 2 || r1.Stat[0] != 3 || len(r1.UIDL) != 3 {
		t.Fatalf("first session: %+v", r1)
	}
	if !contains(r1.CapaAfter, "USER") || contains(r1.CapaAfter, "STLS") {
		t.Fatalf("CAPA after STLS: %v", r1.CapaAfter)
	}
	if m := r1.Retr["1"]; !strings.Contains(m, ids[0]) || !strings.Contains(m, "\n.starts with a dot") || !strings.HasPrefix(m, "Return-Path:") {
		t.Fatalf("RETR 1 = %q", m)
	}
	if !strings.Contains(r1.Top, "Subject: first") || strings.Contains(r1.Top, "line of text") {
		t.Fatalf("TOP 1 0 = %q", r1.Top)
	}
	r2 := s.pop3(map[string]any{"port": s.POP3SPort, "tls": "implicit", "user": "carol@pop.test", "pass": pw, "dele": []int{2}})
	if strings.Join(r2.UIDL, ",") != strings.Join(r1.UIDL, ",") {
		t.Fatalf("UIDLs changed between sessions: %v vs %v", r1.UIDL, r2.UIDL)
	}

	// DELE took effect at QUIT: message 2 is gone for POP3 and on disk; the
	// others keep their UIDLs, and the message read with RETR is \Seen.
	r3 := s.pop3(map[string]any{"port": s.POP3SPort, "tls": "implicit", "user": "carol@pop.test", "pass": pw})
	want := []string{"1 " + uidlOf(r1.UIDL[0]), "2 " + uidlOf(r1.UIDL[2])}
	if r3.Stat[0] != 2 || strings.Join(r3.UIDL, ",") != strings.Join(want, ",") {
		t.Fatalf("after DELE 2: stat %v uidl %v, want %v", r3.Stat, r3.UIDL, want)
	}
	if got := s.findMessage("carol@pop.test", ids[1]); len(got) != 0 {
		t.Fatalf("deleted message still in the Maildir: %v", got)
	}
	// IMAP sees the POP3 deletion, and POP3 sees an IMAP expunge.
	if st := s.imapState("carol@pop.test", nil); len(st["INBOX"]) != 2 || strings.Contains(strings.Join(st["INBOX"], " "), ids[1]) {
		t.Fatalf("IMAP view after POP3 DELE: %v", st["INBOX"])
	}
	s.imapState("carol@pop.test", []map[string]any{{"op": "delete", "folder": "INBOX", "set": "2"}})
	if r4 := s.pop3(map[string]any{"port": s.POP3SPort, "tls": "implicit", "user": "carol@pop.test", "pass": pw}); r4.Stat[0] != 1 {
		t.Fatalf("POP3 after an IMAP expunge: stat %v, want 1 message", r4.Stat)
	}
	seen := s.findMessage("carol@pop.test", ids[0])
	if len(seen) != 1 || !strings.HasSuffix(seen[0].Path, ":2,S") {
		t.Fatalf("retrieved message should carry the Seen flag in its file name: %+v", seen)
	}
	s.checkIndex()
}

func uidlOf(line string) string {
	_, u, _ := strings.Cut(line, " ")
	return u
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
