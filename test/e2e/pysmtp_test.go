package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// python is Debian's interpreter: the python3 first on PATH may be another
// one that cannot import Debian's python3-* modules.
const python = "/usr/bin/python3"

// pySendScript sends one message with Python's smtplib (an independent SMTP
// client) and prints what happened as JSON. The request is JSON on standard input.
const pySendScript = `
import json, smtplib, ssl, sys
req = json.load(sys.stdin)
res = {"ok": False, "refused": {}}
def refused(d):
    return {k: {"code": v[0], "msg": v[1].decode("utf-8", "replace")} for k, v in d.items()}
try:
    s = smtplib.SMTP(req["host"], req["port"], local_hostname="client.e2e.test",
                     source_address=(req.get("src") or "127.0.0.1", 0), timeout=60)
    s.ehlo()
    if req.get("starttls"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
        s.ehlo()
    res["features"] = s.esmtp_features
    res["refused"] = refused(s.sendmail(req["from"], req["to"], req["msg"].encode()))
    res["ok"] = True
    s.quit()
except smtplib.SMTPRecipientsRefused as e:
    res["stage"] = "rcpt"
    res["refused"] = refused(e.recipients)
except smtplib.SMTPSenderRefused as e:
    res["stage"] = "mail"
    res["code"] = e.smtp_code
    res["msg"] = e.smtp_error.decode("utf-8", "replace")
except smtplib.SMTPDataError as e:
    res["stage"] = "data"
    res["code"] = e.smtp_code
    res["msg"] = e.smtp_error.decode("utf-8", "replace")
except smtplib.SMTPResponseException as e:
    res["stage"] = "other"
    res["code"] = e.smtp_code
    res["msg"] = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
except Exception as e:
    res["stage"] = "exception"
    res["msg"] = repr(e)
print(json.dumps(res))
`

type pyReq struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Src      string   `json:"src,omitempty"`
	StartTLS bool     `json:"starttls,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	Msg      string   `json:"msg"`
}

type pyReply struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// pyResult is smtplib's view of one send.
type pyResult struct {
	OK       bool               `json:"ok"`
	Stage    string             `json:"stage"` // where it failed: mail, rcpt, data, other, exception
	Code     int                `json:"code"`
	Msg      string             `json:"msg"`
	Refused  map[string]pyReply `json:"refused"`
	Features map[string]string  `json:"features"`
}

// pySend sends msg with smtplib from source address src ("" = 127.0.0.1).
func (s *server) pySend(src, from string, to []string, msg string) pyResult {
	s.t.Helper()
	return pySendTo(s.t, pyReq{Host: "127.0.0.1", Port: s.Port, Src: src, From: from, To: to, Msg: msg})
}

func pySendTo(t testing.TB, req pyReq) pyResult {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	out := runPythonIn(t, string(in), pySendScript)
	var res pyResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	return res
}

// runPython runs a script with Debian's python3 and returns its stdout;
// a non-zero exit fails the test.
func runPython(t testing.TB, script string, args ...string) string {
	t.Helper()
	return runPythonIn(t, "", script, args...)
}

// runPythonIn is runPython with stdin.
func runPythonIn(t testing.TB, stdin, script string, args ...string) string {
	t.Helper()
	requireTool(t, python)
	cmd := exec.Command(python, append([]string{"-c", script}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\nstdout: %s\nstderr: %s", err, o.String(), e.String())
	}
	return o.String()
}
