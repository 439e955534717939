package pickup

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFileRoundTrip(t *testing.T) {
	for _, e := range []*Envelope{
		{From: "a@x.example", Rcpts: []Rcpt{{Addr: "b@y.example"}}},
		{From: "", Rcpts: []Rcpt{{Addr: "b@y.example", Notify: []string{"SUCCESS", "FAILURE"}}, {Addr: "c@y.example", Notify: []string{"NEVER"}}},
			Ret: "HDRS", EnvID: "job 42", Body8: true, SMTPUTF8: true},
	} {
		msg := "Subject: x\r\n\r\n.line\r\n"
		dir := t.TempDir()
		name, err := Drop(dir, e, int64(len(msg)), strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != readyMode {
			t.Fatalf("dropped file: %v %v", st.Mode(), err)
		}
		f, _ := os.Open(filepath.Join(dir, name))
		got, size, body, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(body)
		f.Close()
		if err != nil || string(b) != msg || size != int64(len(msg)) || !reflect.DeepEqual(got, e) {
			t.Errorf("round trip: %+v %d %q %v, want %+v", got, size, b, err, e)
		}
	}
}

func TestReadFileCorrupt(t *testing.T) {
	good := magic + "\nSender: <a@x.example>\nRecipient: <b@y.example>\nSize: 4\n\n"
	for name, in := range map[string]string{
		"empty":         "",
		"no magic":      "Sender: <a@x.example>\n",
		"no size":       magic + "\nSender: <a@x.example>\nRecipient: <b@y.example>\n\nbody",
		"no sender":     magic + "\nRecipient: <b@y.example>\nSize: 4\n\nbody",
		"no recipient":  magic + "\nSender: <a@x.example>\nSize: 4\n\nbody",
		"unknown field": magic + "\nSender: <a@x.example>\nRecipient: <b@y.example>\nX: y\nSize: 4\n\nbody",
		"bad notify":    magic + "\nSender: <a@x.example>\nRecipient: <b@y.example> NOTIFY=SOMETIMES\nSize: 4\n\nbody",
		"cr in address": magic + "\nSender: <a\r@x.example>\nRecipient: <b@y.example>\nSize: 4\n\nbody",
		"truncated":     good + "bo",
		"too long":      good + "bodyX",
		"header cut":    magic + "\nSender: <a@x.example>",
		"long line":     magic + "\nSender: <" + strings.Repeat("a", 5000) + "@x>\n",
	} {
		_, _, body, err := ReadFile(strings.NewReader(in))
		if err == nil {
			_, err = io.ReadAll(body)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// FuzzReadFile: no input makes the parser panic or accept an envelope
// that could not be written back as SMTP commands.
func FuzzReadFile(f *testing.F) {
	f.Add([]byte(magic + "\nSender: <a@x.example>\nRecipient: <b@y.example> NOTIFY=SUCCESS\nRet: FULL\nEnvid: x\nBody: 8BITMIME\nSmtputf8: yes\nSize: 4\n\nbody"))
	f.Add([]byte(magic + "\nSender: <>\nRecipient: <b@y.example>\nSize: 0\n\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, size, body, err := ReadFile(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		if err := e.check(); err != nil {
			t.Fatalf("accepted a bad envelope: %v", err)
		}
		n, err := io.Copy(io.Discard, body)
		if err == nil && n != size {
			t.Fatalf("read %d bytes of %d without error", n, size)
		}
	})
}

func TestDotWriter(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\n.b\r\n..c\r\n": "a\r\n..b\r\n...c\r\n.\r\n",
		".":                  "..\r\n.\r\n",
		"no end":             "no end\r\n.\r\n",
		"":                   ".\r\n",
	} {
		var b bytes.Buffer
		w := bufioWriter(&b)
		d := &dotWriter{w: w, bol: true}
		d.Write([]byte(in))
		d.end()
		if b.String() != want {
			t.Errorf("%q: %q, want %q", in, b.String(), want)
		}
	}
}

func TestXtext(t *testing.T) {
	if got := xtext("a+b=c d\x01"); got != "a+2Bb+3Dc+20d+01" {
		t.Errorf("xtext: %q", got)
	}
}

func TestPrepare(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	os.Mkdir(data, 0o700)
	os.WriteFile(filepath.Join(data, "mailwarden.db"), nil, 0o644)
	notes, err := Prepare(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 {
		t.Errorf("notes: %q", notes)
	}
	for path, want := range map[string]os.FileMode{
		data:                                 0o711 | os.ModeDir,
		filepath.Join(data, "mailwarden.db"): 0o600,
		filepath.Join(data, "run"):           RunDirMode | os.ModeDir,
		MaildropDir(data):                    MaildropMode | os.ModeDir,
		CorruptDir(data):                     CorruptDirMode | os.ModeDir,
	} {
		st, err := os.Stat(path)
		if err != nil || st.Mode() != want {
			t.Errorf("%s: %v %v, want %v", path, st.Mode(), err, want)
		}
	}
	if notes, err := Prepare(data); err != nil || len(notes) != 0 {
		t.Errorf("second Prepare: %q %v", notes, err)
	}
}

func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }
