package dsn

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/emersion/go-message"
)

func FuzzBuild(f *testing.F) {
	f.Add("smtp; 550 5.1.1 <bob@example.org>: user unknown", "bob@example.org", "rfc822;bob@example.org",
		[]byte(origMsg("Hello", "body\r\n")), uint8(0), uint8(0))
	f.Add("x\r\n\x00\xff"+longDiag, "用户@例子.广告", "utf-8;\\x{7528}", []byte("Subject: a\n\nb\n"), uint8(1), uint8(1))
	f.Add("", "<a@b>", "", []byte("no header at all"), uint8(2), uint8(2))
	f.Add("local; \u00e9", "a@b", "+ZZ", []byte("\r\n--=_dsn_\r\n"), uint8(3), uint8(7))
	f.Add("smtp;", "\xff@\xfe", "rfc822;+41", []byte("A: \x00\r\nB: "+string(make([]byte, 1200))), uint8(0), uint8(4))

	f.Fuzz(func(t *testing.T, diag, addr, orcpt string, orig []byte, kind, flags uint8) {
		r := &Report{
			Kind:              Kind(kind % 4),
			ReportingMTA:      "mx.example.com",
			QueueID:           diag,
			EnvID:             orcpt,
			To:                "sender@example.com",
			ReturnHeadersOnly: flags&1 != 0,
			SMTPUTF8:          flags&2 != 0,
			Original:          bytes.NewReader(orig),
			Date:              testDate,
			Recipients: []Recipient{{
				Final:      addr,
				Original:   orcpt,
				Status:     diag,
				RemoteMTA:  diag,
				Diagnostic: diag,
			}},
		}
		if flags&4 != 0 {
			r.MaxOriginal = 64
			r.To = addr
		}
		out, err := r.Build()
		if err != nil {
			if errors.Is(err, ErrNullSender) || clean(addr, true) == "" {
				return
			}
			t.Fatalf("Build: %v", err)
		}
		checkWellFormed(t, out, r.global())
		e, err := message.Read(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("go-message: %v", err)
		}
		mt, params, err := e.Header.ContentType()
		if err != nil || mt != "multipart/report" || params["report-type"] == "" {
			t.Fatalf("content type %q %v %v", mt, params, err)
		}
		mr := e.MultipartReader()
		if mr == nil {
			t.Fatal("not multipart")
		}
		n := 0
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("part %d: %v", n, err)
			}
			if _, err := io.ReadAll(p.Body); err != nil {
				t.Fatalf("part %d body: %v", n, err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("%d parts, want 3", n)
		}
		if !NeverBounce(r.To, out) {
			t.Fatal("built report not recognised by NeverBounce")
		}
	})
}
