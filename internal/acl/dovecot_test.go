package acl

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A dovecot-acl file as Dovecot 2.3 writes it after SETACLs (identifiers
// in its order, rights as "akxeilprwts"), with a comment and named
// rights added by hand.
const dovecotFile = `# written by Dovecot
anyone l
-anyone i
authenticated r
group=team lr
owner akxeilprwts
user=bob@example.org lrs
-user=carol@example.org w
group-override=team lr
user=dave lrwstipekxa :custom

`

func TestParseDovecot(t *testing.T) {
	rules, err := ParseDovecot(strings.NewReader(dovecotFile))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		entry Entry
		skip  bool
	}
	wants := []want{
		{entry: Entry{"anyone", Lookup}},
		{entry: Entry{"-anyone", Insert}},
		{entry: Entry{"authenticated", Read}},
		{skip: true},
		{}, // the owner with every right: nothing to do
		{entry: Entry{"bob@example.org", Lookup | Read | Seen}},
		{entry: Entry{"-carol@example.org", Write}},
		{skip: true},
		{entry: Entry{"dave@example.org", All}},
	}
	if len(rules) != len(wants) {
		t.Fatalf("%d rules: %+v", len(rules), rules)
	}
	for i, r := range rules {
		e, err := r.Entry("example.org")
		w := wants[i]
		if w.skip != errors.Is(err, ErrNoEquivalent) || !w.skip && err != nil || e != w.entry {
			t.Errorf("line %d %q: %+v, %v; want %+v skip=%v", r.Line, r.Identifier, e, err, w.entry, w.skip)
		}
	}
	if rules[8].Named != "custom" || rules[0].Line != 2 {
		t.Errorf("rules: %+v", rules)
	}
	if _, err := (DovecotRule{Identifier: "owner", Rights: Lookup}).Entry("x"); !errors.Is(err, ErrNoEquivalent) {
		t.Errorf("restricted owner: %v", err)
	}
	if _, err := (DovecotRule{Identifier: "user=-bob", Rights: Lookup}).Entry("x"); !errors.Is(err, ErrBadIdentifier) {
		t.Errorf("a user name that reads as negative: %v", err)
	}
	if _, err := (DovecotRule{Identifier: "$team", Rights: Lookup}).Entry("x"); !errors.Is(err, ErrBadIdentifier) {
		t.Errorf("IMAP group syntax in a file: %v", err)
	}
	if _, err := ParseDovecot(strings.NewReader("user=x lrq\n")); !errors.Is(err, ErrBadRights) {
		t.Errorf("bad letter: %v", err)
	}
}

func TestReadDovecotTree(t *testing.T) {
	dir := t.TempDir()
	for p, body := range map[string]string{
		"dovecot-acl":              "user=bob@example.org lr\n",
		".Work/dovecot-acl":        "anyone l\n",
		".Work.2024/dovecot-acl":   "anyone lr\n",
		".Empty/cur/x":             "",
		"dovecot-acl-list":         "1 Work\n",
		".&AMk-t&AOk-/dovecot-acl": "anyone lrs\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := ReadDovecotTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Folder)
	}
	if want := []string{"&AMk-t&AOk-", "INBOX", "Work", "Work.2024"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("folders %q, want %q", names, want)
	}
	if fs[3].Rules[0].Rights != Lookup|Read {
		t.Errorf("Work.2024: %+v", fs[3].Rules)
	}
}

// FuzzParseDovecot: a dovecot-acl file never panics the reader, and what
// it accepts turns into entries Identifier accepts, or a named refusal.
func FuzzParseDovecot(f *testing.F) {
	f.Add(dovecotFile)
	for _, s := range []string{"", "\n\n#x\n", "user= l", "-owner a", "user=a@b lr :x y", "anyone", "group-override=x lr", "\"user=a b\" l"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseDovecot(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rules {
			e, err := r.Entry("example.org")
			if err != nil {
				if !errors.Is(err, ErrNoEquivalent) && !errors.Is(err, ErrBadIdentifier) {
					t.Fatalf("%q: unexpected error %v", r.Identifier, err)
				}
				continue
			}
			if e.Identifier == "" {
				continue
			}
			if id, _, err := Identifier(e.Identifier); err != nil || id != e.Identifier {
				t.Fatalf("%q -> %q: %v", r.Identifier, e.Identifier, err)
			}
			if e.Rights&^All != 0 {
				t.Fatalf("%q: rights %b", r.Identifier, e.Rights)
			}
		}
	})
}
