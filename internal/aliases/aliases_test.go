package aliases

import (
	"reflect"
	"strings"
	"testing"
)

const debian = `# /etc/aliases
mailer-daemon: postmaster
postmaster: root
nobody: root
hostmaster: root
usenet: root
news: root
webmaster: root
www: root
ftp: root
abuse: root
noc: root
security: root
`

func TestParseExpand(t *testing.T) {
	m, warns, err := Parse(strings.NewReader(debian + `root: admin@example.com,
	ops@example.com
"Weird": |/usr/bin/procmail, /var/mail/x, :include:/etc/list, someone@example.net
ALICE: alice@example.com
alice: other@example.com
loop1: loop2
loop2: loop1, end@example.com
orphan: nobodyhere
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 4 {
		t.Errorf("warnings %q, want 3 unsupported targets and 1 repeated name", warns)
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"root", []string{"admin@example.com", "ops@example.com"}},
		{"MAILER-DAEMON", []string{"admin@example.com", "ops@example.com"}},
		{"abuse", []string{"admin@example.com", "ops@example.com"}},
		{"weird", []string{"someone@example.net"}},
		{"alice", []string{"alice@example.com"}},
		{"loop1", []string{"end@example.com"}},
		{"orphan", nil},
		{"unknown", nil},
	} {
		if got := m.Expand(tc.name); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Expand(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDebianDefaultGoesNowhere(t *testing.T) {
	m, _, err := Parse(strings.NewReader(debian))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Expand("postmaster"); got != nil {
		t.Errorf("postmaster -> root (unaliased) expands to %q, want nothing", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(debian)
	f.Add("root: a@b\n\tc@d\n# x\nx: |cmd\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, _, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		for name := range m {
			for _, a := range m.Expand(name) {
				if !strings.Contains(a, "@") {
					t.Fatalf("Expand(%q) gave %q", name, a)
				}
			}
		}
	})
}
