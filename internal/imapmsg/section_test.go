package imapmsg

import (
	"strings"
	"testing"
)

type sectionCase struct {
	file   string
	part   []uint32
	spec   string
	fields []string
	want   string
	ok     bool
}

func runSections(t *testing.T, raw []byte, cases []sectionCase) {
	t.Helper()
	m := Parse(raw)
	for _, tc := range cases {
		got, ok := m.Section(tc.part, tc.spec, tc.fields)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Section(%v, %q, %q) = %q, %v; want %q, %v", tc.part, tc.spec, tc.fields, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSectionParts follows the part numbering of RFC 3501 6.4.5 on
// testdata/nested.eml, which has the structure of its example.
func TestSectionParts(t *testing.T) {
	raw := load(t, "nested.eml")
	inner3Header := "From: grace@example.com\r\nSubject: inner 3\r\nContent-Type: multipart/mixed; boundary=x3\r\n\r\n"
	inner3Text := "--x3\r\nContent-Type: text/plain\r\n\r\npart 3.1\r\n--x3\r\nContent-Type: application/octet-stream\r\n\r\npart 3.2\r\n--x3--"
	hdrEnd := strings.Index(string(raw), "\r\n\r\n") + 4
	runSections(t, raw, []sectionCase{
		{part: nil, spec: "", want: string(raw), ok: true},
		{part: nil, spec: "HEADER", want: string(raw[:hdrEnd]), ok: true},
		{part: nil, spec: "TEXT", want: string(raw[hdrEnd:]), ok: true},
		{part: nil, spec: "header", want: string(raw[:hdrEnd]), ok: true},
		{part: []uint32{1}, want: "part 1", ok: true},
		{part: []uint32{1}, spec: "MIME", want: "Content-Type: TEXT/PLAIN\r\n\r\n", ok: true},
		{part: []uint32{2}, want: "part 2", ok: true},
		{part: []uint32{3}, want: inner3Header + inner3Text, ok: true},
		{part: []uint32{3}, spec: "HEADER", want: inner3Header, ok: true},
		{part: []uint32{3}, spec: "TEXT", want: inner3Text, ok: true},
		{part: []uint32{3}, spec: "MIME", want: "Content-Type: MESSAGE/RFC822\r\n\r\n", ok: true},
		{part: []uint32{3}, spec: "HEADER.FIELDS", fields: []string{"subject"}, want: "Subject: inner 3\r\n\r\n", ok: true},
		{part: []uint32{3, 1}, want: "part 3.1", ok: true},
		{part: []uint32{3, 2}, want: "part 3.2", ok: true},
		{part: []uint32{3, 2}, spec: "MIME", want: "Content-Type: application/octet-stream\r\n\r\n", ok: true},
		{part: []uint32{4, 1}, want: "part 4.1", ok: true},
		{part: []uint32{4, 1}, spec: "MIME", want: "Content-Type: IMAGE/GIF\r\n\r\n", ok: true},
		{part: []uint32{4, 2}, spec: "HEADER.FIELDS.NOT", fields: []string{"From", "content-type"}, want: "Subject: inner 4.2\r\n\r\n", ok: true},
		{part: []uint32{4, 2, 1}, want: "part 4.2.1", ok: true},
		{part: []uint32{4, 2, 2, 1}, want: "part 4.2.2.1", ok: true},
		{part: []uint32{4, 2, 2, 2}, want: "part 4.2.2.2", ok: true},
		{part: []uint32{4, 2, 2, 2}, spec: "MIME", want: "Content-Type: text/richtext\r\n\r\n", ok: true},
		{part: []uint32{5}, spec: "TEXT", want: "part 5.1", ok: true},
		{part: []uint32{5, 1}, want: "part 5.1", ok: true}, // a non-multipart message has part 1
		{part: []uint32{5, 1}, spec: "MIME", want: "Subject: inner 5\r\nFrom: ivan@example.com\r\n\r\n", ok: true},
		// parts that do not exist: empty, as Dovecot answers
		{part: []uint32{6}, want: "", ok: true},
		{part: []uint32{0}, want: "", ok: true},
		{part: []uint32{1, 1}, want: "", ok: true},
		{part: []uint32{3, 3}, want: "", ok: true},
		{part: []uint32{4, 2, 2, 3}, want: "", ok: true},
		{part: []uint32{5, 2}, want: "", ok: true},
		{part: []uint32{4, 2, 2, 1, 1}, want: "", ok: true},
		{part: []uint32{1}, spec: "HEADER", want: "", ok: true}, // not a message
		{part: []uint32{4}, spec: "TEXT", want: "", ok: true},
		// invalid requests
		{part: nil, spec: "MIME", ok: false},
		{part: nil, spec: "BOGUS", ok: false},
		{part: []uint32{1}, spec: "HEADER.FIELDS", ok: false},
	})
}

func TestSectionHeaderFields(t *testing.T) {
	raw := load(t, "alternative.eml")
	runSections(t, raw, []sectionCase{
		{spec: "HEADER.FIELDS", fields: []string{"SUBJECT", "From"},
			want: "From: Alice Example <alice@example.org>\r\nSubject: Lunch\r\n tomorrow?\r\n\r\n", ok: true},
		{spec: "HEADER.FIELDS", fields: []string{"X-Missing"}, want: "\r\n", ok: true},
		{spec: "HEADER.FIELDS", fields: []string{"received"},
			want: "Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n\tby mail.example.com with ESMTPS id 4F2A1\r\n\tfor <bob@example.com>; Tue, 02 Jan 2024 10:00:01 +0000\r\n\r\n", ok: true},
		{spec: "header.fields.not", fields: []string{"Return-Path", "Delivered-To", "Received", "Subject", "MIME-Version", "Content-Type", "Message-ID", "In-Reply-To"},
			want: "Date: Tue, 2 Jan 2024 11:00:00 +0100\r\nFrom: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.com>\r\nReply-To: replies@example.org\r\n\r\n", ok: true},
		{part: []uint32{1}, spec: "MIME", want: "Content-Type: text/plain; charset=\"utf-8\"; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", ok: true},
		{part: []uint32{2}, want: "<p>Shall we have lunch at the <b>caf&eacute;</b> tomorrow?</p>", ok: true},
	})
}

// TestSectionOddMessages covers single-part, empty, header-only and
// bare-LF messages and a broken multipart.
func TestSectionOddMessages(t *testing.T) {
	t.Run("single part", func(t *testing.T) {
		runSections(t, load(t, "encoded.eml"), []sectionCase{
			{part: []uint32{1}, want: "Gr=FC=DFe aus M=FCnchen\r\n", ok: true},
			{part: []uint32{2}, want: "", ok: true},
			{part: []uint32{1, 1}, want: "", ok: true},
		})
	})
	t.Run("empty", func(t *testing.T) {
		runSections(t, nil, []sectionCase{
			{want: "", ok: true}, {spec: "HEADER", want: "", ok: true}, {spec: "TEXT", want: "", ok: true},
			{spec: "HEADER.FIELDS", fields: []string{"From"}, want: "\r\n", ok: true},
			{part: []uint32{1}, want: "", ok: true}, {part: []uint32{1}, spec: "MIME", want: "", ok: true},
		})
	})
	t.Run("header only", func(t *testing.T) {
		runSections(t, []byte("Subject: x\r\nFrom: a@b"), []sectionCase{
			{spec: "HEADER", want: "Subject: x\r\nFrom: a@b", ok: true},
			{spec: "TEXT", want: "", ok: true},
			{spec: "HEADER.FIELDS", fields: []string{"from"}, want: "From: a@b\r\n\r\n", ok: true},
		})
	})
	t.Run("bare LF", func(t *testing.T) {
		raw := []byte("Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\ntwo\n--b--\n")
		runSections(t, raw, []sectionCase{
			{spec: "HEADER", want: "Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n", ok: true},
			{spec: "HEADER.FIELDS", fields: []string{"subject"}, want: "Subject: lf\n\r\n", ok: true},
			{part: []uint32{1}, want: "one\ntwo", ok: true},
			{part: []uint32{1}, spec: "MIME", want: "Content-Type: text/plain\n\n", ok: true},
		})
	})
	t.Run("part without header", func(t *testing.T) {
		raw := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nno header\r\n\r\nat all\r\n--b--")
		runSections(t, raw, []sectionCase{
			{part: []uint32{1}, want: "no header\r\n\r\nat all", ok: true},
			{part: []uint32{1}, spec: "MIME", want: "", ok: true},
		})
	})
	t.Run("broken multipart", func(t *testing.T) {
		runSections(t, load(t, "broken.eml"), []sectionCase{
			{part: []uint32{1}, want: "first part\r\n--gapX not a delimiter", ok: true},
			{part: []uint32{3}, want: "!!!aGk=garbage\r\n", ok: true}, // no close delimiter: runs to the end
			{part: []uint32{4}, want: "", ok: true},
		})
	})
}

func TestBinary(t *testing.T) {
	tests := []struct {
		file string
		part []uint32
		want string
		ok   bool
	}{
		{"mixed.eml", []uint32{1}, "Please find the report attached.\r\nRegards, Carol", true},
		{"mixed.eml", []uint32{2}, "hello world", true},
		{"mixed.eml", []uint32{3}, "\x89PNG\r\n\x1a\n", true},
		{"mixed.eml", []uint32{4}, "", true},
		{"alternative.eml", []uint32{1}, "Shall we have lunch at the caf\xc3\xa9 tomorrow? I'd like to try the new menu.", true},
		{"encoded.eml", []uint32{1}, "Gr\xfc\xdfe aus M\xfcnchen\r\n", true},
		{"broken.eml", []uint32{2}, "", false}, // x-uuencode: NO [UNKNOWN-CTE]
		{"broken.eml", []uint32{3}, "hi", true},
		{"nested.eml", []uint32{4, 2, 2, 1}, "part 4.2.2.1", true},
		{"nested.eml", []uint32{5, 1}, "part 5.1", true},
	}
	for _, tc := range tests {
		got, ok := Parse(load(t, tc.file)).Binary(tc.part)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%s Binary(%v) = %q, %v; want %q, %v", tc.file, tc.part, got, ok, tc.want, tc.ok)
		}
	}
	raw := load(t, "mixed.eml")
	if got, ok := Parse(raw).Binary(nil); !ok || string(got) != string(raw) {
		t.Errorf("Binary(nil) is not the whole message")
	}
}
