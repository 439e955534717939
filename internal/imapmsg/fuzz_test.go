package imapmsg

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/imapwire"
)

// walkBodies calls fn for each non-multipart body node of a written
// BODYSTRUCTURE with its part number (RFC 9051 6.4.5).
func walkBodies(n node, path []uint32, fn func(path []uint32, n node)) {
	if n.items[0].kind == '(' { // multipart
		for i, c := range n.items {
			if c.kind != '(' {
				break
			}
			walkBodies(c, append(path[:len(path):len(path)], uint32(i+1)), fn)
		}
		return
	}
	if len(path) == 0 {
		path = []uint32{1}
	}
	fn(path, n)
	if n.items[0].s == "MESSAGE" && (n.items[1].s == "RFC822" || n.items[1].s == "GLOBAL") {
		inner := n.items[8]
		if inner.items[0].kind != '(' {
			fn(append(path[:len(path):len(path)], 1), inner)
			return
		}
		walkBodies(inner, path, fn)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(crlf(string(b))))
		f.Add(b)
	}
	f.Add([]byte(rfc3501Message()))
	f.Add([]byte(rfc3501Multipart()))
	f.Add([]byte(""))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/digest; boundary=x\r\n\r\n--x\r\n\r\nFrom: a\r\n--x--"))
	f.Add([]byte("To: g: a@b, <@r:c@d> (n);, \"q\\\"\" <e@[1.2.3.4]>\r\nContent-Type: text/plain; a*0*=x'y'%zz; a*1=q\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw)
		for _, utf8 := range []bool{false, true} {
			if env := envelopeOf(m, utf8); checkValue(env, true, false) != nil {
				t.Fatalf("ENVELOPE %v: %s", checkValue(env, true, false), env)
			}
		}
		if body := bodyOf(m, false); checkValue(body, false, false) != nil {
			t.Fatalf("BODY %v: %s", checkValue(body, false, false), body)
		}
		bs := bodyOf(m, true)
		n, err := parseValue(bs)
		if err != nil {
			t.Fatalf("BODYSTRUCTURE %v: %s", err, bs)
		}
		if _, err := checkBody(n, true); err != nil {
			t.Fatalf("BODYSTRUCTURE %v: %s", err, bs)
		}
		// every part listed exists, with the size BODYSTRUCTURE gives
		walkBodies(n, nil, func(path []uint32, b node) {
			d, ok := m.Section(path, "", nil)
			if !ok || fmt.Sprint(len(d)) != b.items[6].s {
				t.Fatalf("part %v: %d octets, BODYSTRUCTURE says %s", path, len(d), b.items[6].s)
			}
			for _, spec := range []string{"MIME", "HEADER", "TEXT"} {
				if _, ok := m.Section(path, spec, nil); !ok {
					t.Fatalf("part %v %s refused", path, spec)
				}
			}
			m.Section(path, "HEADER.FIELDS", []string{"From", "subject"})
			m.Binary(path)
		})
		h, _ := m.Section(nil, "HEADER", nil)
		txt, _ := m.Section(nil, "TEXT", nil)
		if !bytes.Equal(append(h[:len(h):len(h)], txt...), raw) {
			t.Fatal("HEADER + TEXT is not the message")
		}
		if f, _ := m.Section(nil, "HEADER.FIELDS.NOT", []string{"x"}); !bytes.HasSuffix(f, []byte("\r\n")) {
			t.Fatal("HEADER.FIELDS.NOT does not end with CRLF")
		}
		m.Section([]uint32{1, 2, 3}, "", nil)
		m.Binary([]uint32{2, 1})
		m.HeaderContains("subject", "a")
		m.HeaderContains("from", "é")
		m.BodyContains("a")
		m.TextContains("x")
		m.Date()
	})
}

// bench5K is a typical 5 KB delivered message.
func bench5K() []byte {
	var b strings.Builder
	b.WriteString(crlf(`Return-Path: <newsletter@lists.example.org>
Delivered-To: bob@example.com
Received: from mx1.example.org (mx1.example.org [192.0.2.10])
	by mail.example.com (Mailwarden) with ESMTPS id 7F3A2B
	for <bob@example.com>; Mon, 15 Jan 2024 08:30:12 +0000
Received: from app.example.org (app.example.org [192.0.2.20])
	by mx1.example.org (Postfix) with ESMTP id 4B1C9
	for <bob@example.com>; Mon, 15 Jan 2024 08:30:11 +0000 (UTC)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel1;
	h=from:to:subject:date:message-id:mime-version:content-type;
	bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
	b=K3s8xQ9Jz3lQ0F0s5Y8mH2y7rXk0Zr6bJ1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r7s8t9u0v1w2x3y4z5A6B7C8D9E0F1G2H3I4J5K6L7M8N9O0P1Q2R3S4T5U6V7W8X9Y0Z
From: =?UTF-8?Q?Example_Newsletter_=E2=80=94_Weekly?= <newsletter@lists.example.org>
To: Bob Example <bob@example.com>, "Carol, C." <carol@example.com>,
 dave@example.com
Cc: Team: eve@example.com, frank@example.com;
Reply-To: no-reply@lists.example.org
Subject: =?UTF-8?B?V2Vla2x5IGRpZ2VzdDogbmV3cyDigJQgdXBkYXRlcyBhbmQgbW9yZQ==?=
Date: Mon, 15 Jan 2024 09:30:10 +0100
Message-ID: <20240115083010.4B1C9@app.example.org>
In-Reply-To: <20240108083010.1A2B3@app.example.org>
List-Id: Weekly <weekly.lists.example.org>
List-Unsubscribe: <mailto:unsubscribe@lists.example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="==b=="

--==b==
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

`))
	for b.Len() < 5000 {
		b.WriteString("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n")
	}
	b.WriteString("--==b==--\r\n")
	return []byte(b.String())
}

// BenchmarkEnvelope is a FETCH ENVELOPE of a 5 KB message: Parse and
// WriteEnvelope.
func BenchmarkEnvelope(b *testing.B) {
	raw := bench5K()
	w := imapwire.NewWriter(io.Discard)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(raw).WriteEnvelope(w)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBodyStructure is a FETCH BODYSTRUCTURE of the same message.
func BenchmarkBodyStructure(b *testing.B) {
	raw := bench5K()
	w := imapwire.NewWriter(io.Discard)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(raw).WriteBodyStructure(w, true)
	}
}
