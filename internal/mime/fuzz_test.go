package mime

import (
	"bytes"
	"runtime"
	"testing"
)

// FuzzParse: whatever the bytes, parsing never panics, the tree stays
// within MaxParts entities and MaxDepth levels, every entity lies inside
// its parent, decoding stays within its bounds, and memory stays
// proportional to the input.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(""))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/digest; boundary=x\r\n\r\n--x\r\n\r\nFrom: a\r\n--x--"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n--b--"))
	f.Add([]byte("Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1=\"=?utf-8?q?x?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!=="))
	f.Add([]byte("Content-Type: text/plain; charset=shift_jis\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=82=A0=\r\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := Parse(raw)
		n := 0
		var check func(p *Part, depth, lo, hi int)
		check = func(p *Part, depth, lo, hi int) {
			n++
			if depth > MaxDepth {
				t.Fatalf("depth %d", depth)
			}
			start, body, end := p.Offsets()
			if start < lo || start > body || body > end || end > hi {
				t.Fatalf("entity %d %d %d outside %d..%d", start, body, end, lo, hi)
			}
			if d, ok := p.Decoded(); ok && len(d) > end-body {
				t.Fatalf("decoded %d octets from %d", len(d), end-body)
			}
			if txt, ok := p.Text(); ok && len(txt) > 4*(end-body)+16 {
				t.Fatalf("text of %d octets from %d", len(txt), end-body)
			}
			p.Filename()
			p.Disposition()
			h := p.Header()
			for i := range h.Len() {
				if s, e := h.Span(i); s < start || e > body {
					t.Fatalf("field %d %d outside the header %d..%d", s, e, start, body)
				}
				h.Text(i)
			}
			for _, c := range p.Parts() {
				check(c, depth+1, body, end)
			}
			if p.Message() != nil {
				check(p.Message(), depth+1, body, end)
			}
		}
		check(m.Root(), 0, 0, len(raw))
		if n > MaxParts {
			t.Fatalf("%d entities", n)
		}
		walked := 0
		m.Walk(func(*Part, int) bool { walked++; return true })
		if walked != n {
			t.Fatalf("Walk saw %d entities, the tree has %d", walked, n)
		}
		if hdr := raw[:m.BodyOffset()]; !bytes.HasPrefix(raw, hdr) || (HeaderEnd(raw) >= 0 && HeaderEnd(raw) != len(hdr)) {
			t.Fatalf("header ends at %d, HeaderEnd says %d", len(hdr), HeaderEnd(raw))
		}
		runtime.ReadMemStats(&after)
		// The tree costs a few hundred octets an entity and a field a few
		// dozen a line; decoding and charset conversion at most 4 times
		// the content.
		if used := after.TotalAlloc - before.TotalAlloc; used > uint64(256*len(raw))+1<<20 {
			t.Fatalf("%d octets allocated for %d of input", used, len(raw))
		}
	})
}
