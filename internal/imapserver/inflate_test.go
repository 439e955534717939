package imapserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

func deflateBytes(t testing.TB, level int, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// readAllInflated decodes stream with reads of at most step bytes.
func readAllInflated(stream []byte, step int) ([]byte, error) {
	z := newInflater(bufio.NewReaderSize(bytes.NewReader(stream), 4<<10))
	var out []byte
	p := make([]byte, step)
	for {
		n, err := z.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// TestInflateRoundTrip: what compress/flate writes, at every level, comes
// back intact, whatever the size of the reads (long matches, stored
// blocks, fixed and dynamic codes, more than one window of output).
func TestInflateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	var text strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&text, "* %d FETCH (UID %d FLAGS (\\Seen) ENVELOPE (\"Mon, 7 Feb 2022\" \"subject %d\"))\r\n", i+1, i+1, i%37)
	}
	inputs := map[string][]byte{
		"empty":  nil,
		"short":  []byte("a NOOP\r\n"),
		"text":   []byte(text.String()),
		"random": random,
		"runs":   bytes.Repeat([]byte("x"), 70<<10),
	}
	for name, data := range inputs {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
			stream := deflateBytes(t, level, data)
			for _, step := range []int{1, 13, 4096, 64 << 10} {
				got, err := readAllInflated(stream, step)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s level %d step %d: %d bytes back of %d, %v", name, level, step, len(got), len(data), err)
				}
			}
		}
	}
}

// chunkFeed sends chunks into an inflater over a pipe, one at a time, and
// checks that what each chunk completes can be read before the next one
// is sent: the inflater must not wait for input it does not need.
func chunkFeed(t *testing.T, chunks [][]byte, want []string) {
	t.Helper()
	pr, pw := io.Pipe()
	defer pw.Close()
	br := bufio.NewReader(newInflater(bufio.NewReaderSize(pr, 4<<10)))
	for i, c := range chunks {
		go pw.Write(c)
		got := make(chan string, 1)
		go func() {
			var b strings.Builder
			for b.Len() < len(want[i]) {
				l, err := br.ReadString('\n')
				b.WriteString(l)
				if err != nil {
					break
				}
			}
			got <- b.String()
		}()
		select {
		case g := <-got:
			if g != want[i] {
				t.Fatalf("chunk %d: got %q, want %q", i, g, want[i])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("chunk %d: %q not handed out before the next chunk", i, want[i])
		}
	}
}

// TestInflateMbsyncPartialFlush replays what mbsync (isync 1.4, zlib with
// Z_PARTIAL_FLUSH) sent in a second sync: the last chunk is one dynamic
// block of five pipelined commands and an APPEND, followed by only part
// of the empty fixed-code block that ends a partial flush. compress/flate
// keeps all of it until more input comes, which mbsync sends only after
// the answers.
func TestInflateMbsyncPartialFlush(t *testing.T) {
	raw, err := os.ReadFile("testdata/mbsync-partial-flush.hex")
	if err != nil {
		t.Fatal(err)
	}
	var chunks [][]byte
	for _, l := range strings.Fields(string(raw)) {
		b, err := hex.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, b)
	}
	want := []string{
		"5 NAMESPACE\r\n",
		"6 LIST \"\" \"*\"\r\n",
		"7 SELECT \"INBOX\"\r\n",
		"8 UID FETCH 1:4 (UID FLAGS)\r\n",
		"9 UID STORE 1 +FLAGS.SILENT (\\Seen)\r\n10 UID STORE 2 +FLAGS.SILENT (\\Deleted)\r\n11 CHECK\r\n" +
			"12 APPEND \"INBOX\" {174+}\r\nFrom: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: test 20\r\n" +
			"Date: Mon, 7 Feb 2022 21:52:25 -0800\r\nMessage-ID: <20@example.org>\r\nX-TUID: AYabjRVDVpO2\r\n\r\nHello 20\r\n\r\n" +
			"13 UID FETCH 4 (BODY.PEEK[])\r\n",
	}
	chunkFeed(t, chunks, want)
}

// TestInflateMidBlock: data is handed out as it is decoded, before its
// block ends (a sender that flushes nothing, cut at any byte).
func TestInflateMidBlock(t *testing.T) {
	var text strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&text, "a%d UID FETCH %d (FLAGS)\r\n", i, i)
	}
	stream := deflateBytes(t, flate.DefaultCompression, []byte(text.String()))
	half := len(stream) / 2
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(stream[:half])
	z := newInflater(bufio.NewReaderSize(pr, 4<<10))
	p := make([]byte, 1<<20)
	n, err := z.Read(p)
	if err != nil || n == 0 || !strings.HasPrefix(text.String(), string(p[:n])) {
		t.Fatalf("read %d bytes, %v", n, err)
	}
}

// TestInflateInvalid: invalid streams end in errInflate.
func TestInflateInvalid(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
	}{
		{"reserved block type", []byte{0x07}},
		{"stored length mismatch", []byte{0x01, 0x05, 0x00, 0x00, 0x00}},
		{"distance before start", []byte{0x03, 0x02, 0x00}}, // fixed codes: length 3, distance 1, nothing written yet
		{"length symbol 286", []byte{0x1b, 0x03}},
		{"dynamic block without end-of-block code", append(append([]byte{0x05, 0xc0, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x90, 0x01},
			make([]byte, 31)...), 0x04)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAllInflated(tt.stream, 64)
			if !errors.Is(err, errInflate) {
				t.Fatalf("got %v", err)
			}
			// compress/flate agrees that the stream is broken.
			if _, err := io.ReadAll(flate.NewReader(bytes.NewReader(tt.stream))); err == nil {
				t.Fatalf("compress/flate reads it")
			}
		})
	}
}

// FuzzInflate compares the inflater with compress/flate on any input:
// the same output for a valid stream, an error for an invalid one.
func FuzzInflate(f *testing.F) {
	f.Add(deflateBytes(f, flate.BestSpeed, []byte("a NOOP\r\nb NOOP\r\nc NOOP\r\n")))
	f.Add(deflateBytes(f, flate.DefaultCompression, bytes.Repeat([]byte("abcabcabd"), 500)))
	f.Add(deflateBytes(f, flate.NoCompression, []byte("stored")))
	f.Add([]byte{0x07})
	f.Fuzz(func(t *testing.T, stream []byte) {
		want, werr := io.ReadAll(flate.NewReader(bytes.NewReader(stream)))
		got, gerr := readAllInflated(stream, 100)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("compress/flate: %v, inflater: %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("compress/flate: %q\ninflater: %q", want, got)
		}
	})
}
