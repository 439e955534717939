package imapwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// newTestReader returns a Reader over in and the buffer receiving its
// continuation requests.
func newTestReader(in string) (*Reader, *bytes.Buffer) {
	var out bytes.Buffer
	r := NewReader(bufio.NewReader(strings.NewReader(in)), &out, 1024, 1<<20)
	return r, &out
}

// parseCase is one table entry: input, the expected Command or an error.
type parseCase struct {
	name    string
	in      string
	want    *Command
	wantErr string // substring of ParseError.Msg; empty for success
	tag     string // expected ParseError.Tag
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestReader(tc.in)
			cmd, err := r.ReadCommand()
			if tc.wantErr != "" {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("got %#v, %v; want ParseError %q", cmd, err, tc.wantErr)
				}
				if !strings.Contains(pe.Msg, tc.wantErr) || pe.Tag != tc.tag {
					t.Fatalf("got error tag %q msg %q; want tag %q msg ~%q", pe.Tag, pe.Msg, tc.tag, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadCommand: %v", err)
			}
			if a, ok := cmd.Args.(*AppendArgs); ok && a.Message != nil {
				a.Message = nil
			}
			if !reflect.DeepEqual(cmd, tc.want) {
				t.Fatalf("got  %s\nwant %s", dump(cmd), dump(tc.want))
			}
		})
	}
}

func dump(c *Command) string {
	if c == nil {
		return "<nil>"
	}
	v := reflect.ValueOf(c.Args)
	args := fmt.Sprintf("%+v", c.Args)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		args = fmt.Sprintf("%T%+v", c.Args, v.Elem().Interface())
	}
	return fmt.Sprintf("%s %s uid=%v %s", c.Tag, c.Name, c.UID, args)
}

// readAll reads commands until the input ends, returning commands and the
// errors met (nil entries for successes).
func readAll(t *testing.T, r *Reader) ([]*Command, []error) {
	t.Helper()
	var cmds []*Command
	var errs []error
	for i := 0; i < 1000; i++ {
		cmd, err := r.ReadCommand()
		if err == io.EOF {
			return cmds, errs
		}
		cmds = append(cmds, cmd)
		errs = append(errs, err)
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || pe.Close) {
			return cmds, errs
		}
		if err != nil {
			continue
		}
		if a, ok := cmd.Args.(*AppendArgs); ok {
			if _, err := io.Copy(io.Discard, a.Message); err != nil {
				t.Fatalf("reading message: %v", err)
			}
			if err := r.EndAppend(); err != nil {
				errs[len(errs)-1] = err
			}
		}
	}
	t.Fatal("too many commands")
	return nil, nil
}
