package dsn

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

// pyScript parses a message from stdin with Python's email package
// (compat32 policy, as email.message_from_bytes uses) and prints what
// it saw as JSON.
const pyScript = `
import email, email.parser, json, re, sys

def unfold(v):
    # compat32 keeps 8-bit octets as surrogate escapes; undo that.
    v = str(v).encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')
    return re.sub(r'\r?\n(?=[ \t])', '', v).strip()

def fields(m):
    return {k: unfold(v) for k, v in m.raw_items()}

def blocks_from_text(text):
    text = text.replace('\r\n', '\n').strip('\n')
    hp = email.parser.HeaderParser()
    return [fields(hp.parsestr(b)) for b in re.split(r'\n\n+', text)]

msg = email.message_from_bytes(sys.stdin.buffer.read())
out = {
    'type': msg.get_content_type(),
    'report_type': msg.get_param('report-type'),
    'multipart': msg.is_multipart(),
    'subject': msg['Subject'],
    'auto_submitted': msg['Auto-Submitted'],
    'defects': [type(d).__name__ for p in msg.walk() for d in p.defects],
    'parts': [], 'blocks': [], 'text': '', 'orig_subject': None,
}
parts = msg.get_payload() if msg.is_multipart() else []
for p in parts:
    out['parts'].append(p.get_content_type())
if len(parts) >= 1:
    out['text'] = parts[0].get_payload(decode=True).decode('utf-8', 'replace')
if len(parts) >= 2:
    ds = parts[1]
    if ds.get_content_type() == 'message/delivery-status':
        out['blocks'] = [fields(b) for b in ds.get_payload()]
    else:
        # message/global-delivery-status is parsed as an embedded message:
        # its header is the per-message block, its body the rest.
        sub = ds.get_payload(0)
        out['blocks'] = [fields(sub)] + blocks_from_text(
            sub.get_payload(decode=True).decode('utf-8', 'replace'))
if len(parts) >= 3:
    r = parts[2]
    if r.get_content_maintype() == 'message':
        out['orig_subject'] = r.get_payload(0)['Subject']
    else:
        raw = r.get_payload(decode=True).decode('utf-8', 'replace')
        out['orig_subject'] = email.parser.HeaderParser().parsestr(raw)['Subject']
json.dump(out, sys.stdout)
`

type pyResult struct {
	Type          string              `json:"type"`
	ReportType    string              `json:"report_type"`
	Multipart     bool                `json:"multipart"`
	Subject       string              `json:"subject"`
	AutoSubmitted string              `json:"auto_submitted"`
	Defects       []string            `json:"defects"`
	Parts         []string            `json:"parts"`
	Blocks        []map[string]string `json:"blocks"`
	Text          string              `json:"text"`
	OrigSubject   *string             `json:"orig_subject"`
}

// pyParser returns a function parsing a message with Python, or skips
// the test when Python is not installed.
func pyParser(t testing.TB) func([]byte) pyResult {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s not available", python)
	}
	script := filepath.Join(t.TempDir(), "parse.py")
	if err := os.WriteFile(script, []byte(pyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(msg []byte) pyResult {
		t.Helper()
		cmd := exec.Command(python, script)
		cmd.Stdin = bytes.NewReader(msg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, stderr.String())
		}
		var res pyResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("python output %q: %v", out, err)
		}
		return res
	}
}

func TestBuildPython(t *testing.T) {
	parse := pyParser(t)
	for _, tc := range buildCases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report()
			out, err := r.Build()
			if err != nil {
				t.Fatal(err)
			}
			res := parse(out)
			wantRT := "delivery-status"
			if tc.global {
				wantRT = "global-delivery-status"
			}
			if res.Type != "multipart/report" || !res.Multipart || res.ReportType != wantRT {
				t.Fatalf("python sees %s multipart=%v report-type=%q", res.Type, res.Multipart, res.ReportType)
			}
			if len(res.Defects) > 0 {
				t.Errorf("python defects: %v", res.Defects)
			}
			if res.Subject != r.Kind.subject() || res.AutoSubmitted != "auto-replied" {
				t.Errorf("Subject %q, Auto-Submitted %q", res.Subject, res.AutoSubmitted)
			}
			if strings.Join(res.Parts, ",") != strings.Join(tc.wantParts, ",") {
				t.Fatalf("parts %v, want %v", res.Parts, tc.wantParts)
			}
			checkBlocks(t, res.Blocks, tc.wantBlocks)
			text := strings.Join(strings.Fields(res.Text), " ")
			for _, w := range tc.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text part lacks %q:\n%s", w, res.Text)
				}
			}
			switch {
			case tc.wantSubj == "" && res.OrigSubject != nil:
				t.Errorf("unexpected returned message with Subject %q", *res.OrigSubject)
			case tc.wantSubj != "" && (res.OrigSubject == nil || *res.OrigSubject != tc.wantSubj):
				t.Errorf("returned Subject %v, want %q", res.OrigSubject, tc.wantSubj)
			}
		})
	}
}
