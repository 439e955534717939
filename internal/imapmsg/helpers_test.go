package imapmsg

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/imapwire"
)

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// load reads testdata/name with CRLF line ends, as the store keeps them.
func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(crlf(string(b)))
}

// render returns what f writes on a Writer (UTF8 as given).
func render(utf8 bool, f func(w *imapwire.Writer)) string {
	var b bytes.Buffer
	w := imapwire.NewWriter(&b)
	w.UTF8 = utf8
	f(w)
	if err := w.Flush(); err != nil {
		return "ERROR " + err.Error()
	}
	return b.String()
}

func envelopeOf(m *Message, utf8 bool) string { return render(utf8, m.WriteEnvelope) }

func bodyOf(m *Message, extended bool) string {
	return render(false, func(w *imapwire.Writer) { m.WriteBodyStructure(w, extended) })
}
