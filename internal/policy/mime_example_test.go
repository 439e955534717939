package policy_test

import (
	"context"
	"strings"
	"testing"

	"mailwarden/internal/envelope"
	"mailwarden/internal/mime"
	"mailwarden/internal/policy"
)

// rejectExecutables is an end-of-data content check as a filter writes
// one with internal/mime: it parses the spooled body once and rejects a
// message carrying a part whose filename ends in ".exe", wherever the
// part is (inside a forwarded message too) and however the name is
// encoded (RFC 2231, RFC 2047, Content-Type name). Trailing dots and
// blanks, which Windows drops, do not hide the extension. The reply never
// echoes the sender's filename.
func rejectExecutables(maxSize int64) policy.Check {
	return policy.Func("reject_executable_attachment", func(ctx context.Context, r *policy.Request) policy.Verdict {
		if r.Body == nil {
			return policy.Verdict{}
		}
		m, err := mime.ReadBody(r.Body, maxSize)
		if err != nil {
			return policy.Verdict{Action: policy.Defer, Code: 451, Enhanced: "4.3.0", Text: "Error: cannot read the message"}
		}
		banned := false
		m.Walk(func(p *mime.Part, _ int) bool {
			name := strings.ToLower(strings.TrimRight(p.Filename(), ". \t"))
			banned = banned || strings.HasSuffix(name, ".exe")
			return !banned
		})
		if banned {
			return policy.Verdict{Action: policy.Reject, Code: 554, Enhanced: "5.7.1", Text: "Message rejected: executable attachment (.exe)"}
		}
		return policy.Verdict{}
	})
}

func attachment(header string) string {
	return "From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached, not setup.exe\r\n" +
		"--b1\r\n" + header + "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n" +
		"--b1--\r\n"
}

// forwarded puts inner inside a message/rfc822 part.
func forwarded(inner string) string {
	return "From: b@example.org\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary=fwd\r\n\r\n" +
		"--fwd\r\nContent-Type: text/plain\r\n\r\nforwarding\r\n" +
		"--fwd\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n" + inner + "\r\n--fwd--\r\n"
}

func TestContentCheckWithMIME(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		reject bool
	}{
		{"plain filename", attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe\"\r\n"), true},
		{"upper case", attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=SETUP.EXE\r\n"), true},
		{"RFC 2231 encoded", attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*=utf-8''%E2%82%AC%20invoice%2Eexe\r\n"), true},
		{"RFC 2231 continuations", attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*0*=iso-8859-1''r%E9sum%E9;\r\n filename*1=\".ex\"; filename*2=e\r\n"), true},
		{"RFC 2047 encoded", attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"=?UTF-8?B?c2V0dXAuZXhl?=\"\r\n"), true},
		{"Content-Type name only", attachment("Content-Type: application/x-msdownload; name=\"tool.exe\"\r\n"), true},
		{"trailing dot", attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe.\"\r\n"), true},
		{"inside a forwarded message", forwarded(attachment("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=us-ascii'en'evil.exe\r\n")), true},
		{"forwarded twice", forwarded(forwarded(attachment("Content-Type: application/octet-stream; name=deep.exe\r\n"))), true},
		{"pdf", attachment("Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n"), false},
		{"exe not at the end", attachment("Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"setup.exe.txt\"\r\n"), false},
		{"forwarded pdf", forwarded(attachment("Content-Type: application/pdf; name=a.pdf\r\n")), false},
		{"no MIME at all", "Subject: hi\r\n\r\nrun setup.exe\r\n", false},
	}
	lists := &policy.Lists{EndOfData: policy.List{rejectExecutables(25 << 20)}}
	for _, tc := range tests {
		// in memory (parsed in place), in a temporary file (read once),
		// and shared as the engine may pass it (one parse for all checks)
		for _, threshold := range []int{1 << 20, 0, -1} {
			sp := envelope.NewSpool(t.TempDir(), max(threshold, 0), 0)
			if _, err := sp.Write([]byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			var body policy.Body = sp
			if threshold < 0 {
				body = mime.Shared(sp)
			}
			d := lists.AtEndOfData(context.Background(), &policy.Request{Stage: policy.EndOfData, Body: body, Size: sp.Size()})
			if d.Refused() != tc.reject {
				t.Errorf("%s (spool threshold %d): %v %q; want reject %v", tc.name, threshold, d.Action, d.Reply(), tc.reject)
			}
			if tc.reject && (d.Reply() != "554 5.7.1 Message rejected: executable attachment (.exe)" || d.Check != "reject_executable_attachment") {
				t.Errorf("%s: reply %q from %q", tc.name, d.Reply(), d.Check)
			}
			sp.Close()
		}
	}
	// A body over the check's limit is not read: a temporary failure,
	// never an unchecked accept.
	sp := envelope.NewSpool(t.TempDir(), 0, 0)
	sp.Write([]byte(tests[0].msg))
	defer sp.Close()
	small := &policy.Lists{EndOfData: policy.List{rejectExecutables(100)}}
	if d := small.AtEndOfData(context.Background(), &policy.Request{Stage: policy.EndOfData, Body: sp}); d.Action != policy.Defer {
		t.Errorf("over the limit: %v %q", d.Action, d.Reply())
	}
}
