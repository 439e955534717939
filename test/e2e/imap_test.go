package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// pyIMAPScenario exercises the IMAP server with Python's imaplib as a mail
// client would and reports each observation as JSON.
const pyIMAPScenario = `
import imaplib, json, re, smtplib, socket, ssl, sys, time
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = {}
def ok(r):
    if r[0] != "OK":
        raise SystemExit("IMAP error: %r" % (r,))
    return r[1]
# Plaintext port: STARTTLS offered, logins disabled until TLS.
m = imaplib.IMAP4("127.0.0.1", req["imap"])
out["caps_plain"] = sorted(m.capabilities)
try:
    m.login(req["user"], req["pass"]); out["plain_login"] = "accepted"
except imaplib.IMAP4.error as e:
    out["plain_login"] = str(e)
m.starttls(ssl_context=ctx)
out["caps_tls"] = sorted(m.capabilities)
try:
    m.login(req["user"], "wrong password"); out["bad_login"] = "accepted"
except imaplib.IMAP4.error as e:
    out["bad_login"] = str(e)
ok(m.login(req["user"], req["pass"]))
out["list_special"] = [l.decode() for l in ok(m._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"') and m._untagged_response("OK", [None], "LIST"))]
out["status"] = ok(m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)"))[0].decode()
out["select_exists"] = int(ok(m.select("INBOX"))[0])
out["search_unseen"] = ok(m.search(None, "UNSEEN"))[0].decode()
out["search_subject"] = ok(m.search(None, "SUBJECT", '"second"'))[0].decode()
out["search_from"] = ok(m.uid("SEARCH", "FROM", '"boss@far.test"'))[0].decode()
f = ok(m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
out["fetch_header"] = f[0][1].decode()
ok(m.store("1", "+FLAGS", "(\\Flagged)"))
out["flags_after_store"] = ok(m.fetch("1", "(FLAGS)"))[0].decode()
ok(m.create("Archive"))
copy = m.uid("COPY", req["uid2"], "Archive")
out["copy"] = [copy[0], str(m.untagged_responses.get("COPYUID", ""))]
mv = m._simple_command("MOVE", "3", "Trash")
out["move"] = mv[0]
out["exists_after_move"] = int(ok(m.select("INBOX"))[0])
# A second session sees the first one's expunge and new mail pushed by IDLE.
m2 = imaplib.IMAP4_SSL("127.0.0.1", req["imaps"], ssl_context=ctx)
ok(m2.login(req["user"], req["pass"]))
n2 = int(ok(m2.select("INBOX"))[0])
ok(m.store("1", "+FLAGS", "(\\Deleted)"))
out["expunge"] = [x.decode() for x in ok(m.expunge()) if x]
ok(m2.noop())
out["second_session_expunge"] = [x.decode() for x in m2.untagged_responses.pop("EXPUNGE", [])]
tag = m2._new_tag()
m2.send(tag + b" IDLE\r\n")
out["idle_cont"] = m2.readline().decode().strip()
s = smtplib.SMTP("127.0.0.1", req["smtp"]); s.sendmail("boss@far.test", [req["user"]], b"Subject: pushed\r\nMessage-ID: <pushed@e2e.test>\r\n\r\nhi\r\n"); s.quit()
m2.sock.settimeout(5)
try:
    out["idle_push"] = m2.readline().decode().strip()
except socket.timeout:
    out["idle_push"] = "timeout"
m2.send(b"DONE\r\n")
while True:
    line = m2.readline()
    if line.startswith(tag):
        out["idle_done"] = line.decode().strip(); break
m2.logout()
a = m.append("Sent", "(\\Seen)", None, b"From: me\r\nSubject: sent copy\r\n\r\nbody\r\n")
out["append"] = [a[0], a[1][0].decode()]
q = m._simple_command("GETQUOTAROOT", "INBOX")
out["quota"] = [x.decode() for x in m.untagged_responses.pop("QUOTA", [])]
m.logout()
print(json.dumps(out))
`

func TestIMAP(t *testing.T) {
	requireTool(t, python)
	const user = "gina@imap.test"
	s := startServer(t, options{}, func(s *server) {
		s.admin("domain", "add", "imap.test")
		s.addUser(user, "--quota", "10M")
	})
	for _, subj := range []string{"first", "second", "third"} {
		s.send("boss@far.test", user, message("boss@far.test", user, subj, newMessageID("imap"), "text of "+subj))
	}
	body, _ := json.Marshal(map[string]any{"imap": s.IMAPPort, "imaps": s.IMAPSPort, "smtp": s.Port,
		"user": user, "pass": "correct horse battery", "uid2": "2"})
	cmd := exec.Command(python, "-c", pyIMAPScenario)
	cmd.Stdin = bytes.NewReader(body)
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib scenario: %v\n%s", err, raw)
	}
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("imaplib output %q: %v", raw, err)
	}
	str := func(k string) string { b, _ := json.Marshal(r[k]); return string(b) }
	checks := []struct {
		key, want string
	}{
		{"caps_plain", `"STARTTLS"`},
		{"caps_plain", `"LOGINDISABLED"`},
		{"plain_login", "PRIVACYREQUIRED"},
		{"caps_tls", `"AUTH=PLAIN"`},
		{"caps_tls", `"IDLE"`},
		{"caps_tls", `"QRESYNC"`},
		{"bad_login", "AUTHENTICATIONFAILED"},
		{"list_special", `\\Sent`},
		{"list_special", `\\Trash`},
		{"list_special", `\\Junk`},
		{"list_special", `\\Drafts`},
		{"status", "MESSAGES 3"},
		{"select_exists", "3"},
		{"search_unseen", `"1 2 3"`},
		{"search_subject", `"2"`},
		{"search_from", `"1 2 3"`},
		{"fetch_header", "Subject: first"},
		{"flags_after_store", `\\Flagged`},
		{"copy", "OK"},
		{"move", "OK"},
		{"exists_after_move", "2"},
		{"expunge", `"1"`},
		{"second_session_expunge", `"1"`},
		{"idle_cont", "+"},
		{"idle_push", "EXISTS"},
		{"idle_done", "OK"},
		{"append", "APPENDUID"},
		{"quota", "STORAGE"},
	}
	for _, c := range checks {
		if got := str(c.key); !strings.Contains(got, c.want) {
			t.Errorf("%s = %s, want it to contain %s", c.key, got, c.want)
		}
	}
	if strings.Contains(str("caps_tls"), "LOGINDISABLED") {
		t.Errorf("LOGINDISABLED still announced after STARTTLS: %s", str("caps_tls"))
	}
	// The MOVE and COPY are visible in the other folders, the index agrees.
	db := s.openDB()
	defer db.Close()
	got := queryStrings(t, db, `SELECT f.name || ':' || COUNT(m.uid) FROM mail_folder f LEFT JOIN mail_message m ON m.folder_id=f.id WHERE f.username=? GROUP BY f.name ORDER BY f.name`, user)
	if j := strings.Join(got, " "); j != "Archive:1 Drafts:0 INBOX:2 Junk:0 Sent:1 Trash:1" {
		t.Errorf("folders after the scenario: %s", j)
	}
	s.checkIndex()
}

// pyLoginAttempts tries logins over IMAPS and prints each outcome.
const pyLoginAttempts = `
import imaplib, json, ssl, sys
req = json.load(sys.stdin)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
out = []
for pw in req["passwords"]:
    m = imaplib.IMAP4_SSL("127.0.0.1", req["port"], ssl_context=ctx)
    try:
        m.login(req["user"], pw); out.append("OK"); m.logout()
    except imaplib.IMAP4.error as e:
        out.append(str(e))
print(json.dumps(out))
`

func TestLoginFailuresLockOutIP(t *testing.T) {
	requireTool(t, python)
	const user = "hal@imap.test"
	s := startServer(t, options{Extra: []string{"", "[auth]", `failure_delay = "50ms"`, "max_failures = 3", `failure_window = "10m"`}}, func(s *server) {
		s.admin("domain", "add", "imap.test")
		s.addUser(user)
	})
	body, _ := json.Marshal(map[string]any{"port": s.IMAPSPort, "user": user,
		"passwords": []string{"correct horse battery", "bad 1", "bad 2", "bad 3", "correct horse battery"}})
	cmd := exec.Command(python, "-c", pyLoginAttempts)
	cmd.Stdin = bytes.NewReader(body)
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib: %v\n%s", err, raw)
	}
	var got []string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("output %q: %v", raw, err)
	}
	if len(got) != 5 || got[0] != "OK" || !strings.Contains(got[1], "AUTHENTICATIONFAILED") || !strings.Contains(got[3], "AUTHENTICATIONFAILED") {
		t.Fatalf("login outcomes: %q", got)
	}
	// Past max_failures even the right password is refused, temporarily.
	if !strings.Contains(got[4], "UNAVAILABLE") {
		t.Fatalf("login after 3 failures: %q, want a temporary [UNAVAILABLE] refusal", got[4])
	}
	s.waitLog(func(l string) bool { return strings.Contains(l, "auth: failed: user=<hal@imap.test>") }, "failed logins logged")
}
