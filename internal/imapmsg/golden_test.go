package imapmsg

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden writes ENVELOPE (plain and UTF8=ACCEPT), BODY and
// BODYSTRUCTURE for each testdata/*.eml (read with CRLF line ends) and
// compares them with testdata/*.golden, reviewed by hand and parsed by
// go-imap v2's client when written. Each value is also checked against
// the RFC 9051 grammar.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".eml"), func(t *testing.T) {
			m := Parse(load(t, name))
			env, envU := envelopeOf(m, false), envelopeOf(m, true)
			body, bs := bodyOf(m, false), bodyOf(m, true)
			for _, v := range []struct {
				s        string
				env, ext bool
			}{{env, true, false}, {envU, true, false}, {body, false, false}, {bs, false, true}} {
				if err := checkValue(v.s, v.env, v.ext); err != nil {
					t.Errorf("%v in %s", err, v.s)
				}
			}
			got := fmt.Sprintf("ENVELOPE %s\nENVELOPE-UTF8 %s\nBODY %s\nBODYSTRUCTURE %s\n", env, envU, body, bs)
			gf := strings.TrimSuffix(f, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(gf, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// checkValue checks an ENVELOPE (env) or BODY/BODYSTRUCTURE value
// against the grammar.
func checkValue(s string, env, extended bool) error {
	n, err := parseValue(s)
	if err != nil {
		return err
	}
	if env {
		return checkEnvelope(n)
	}
	_, err = checkBody(n, extended)
	return err
}
