package transport

import (
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	ps, err := ParsePasswords("p", []byte(`# sasl_passwd
[smtp.example.com]:587   alice:s3cr:et with  spaces
relay.example.net        bob:pw
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hop, user, pass string
		ok              bool
	}{
		{"[smtp.example.com]:587", "alice", "s3cr:et with  spaces", true},
		{"[SMTP.example.com]:587", "alice", "s3cr:et with  spaces", true},
		{"[smtp.example.com]:25", "", "", false},
		{"relay.example.net", "bob", "pw", true},
		{"[relay.example.net]:587", "bob", "pw", true},
		{"other.example", "", "", false},
	}
	for _, tc := range tests {
		c, ok := ps.Lookup(tc.hop)
		if ok != tc.ok || c.Username != tc.user || c.Password != tc.pass {
			t.Errorf("Lookup(%q) = %+v, %v", tc.hop, c, ok)
		}
	}
}

func TestPasswordErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no colon", "[h]:587 alice\n", "p:1: entry for \"[h]:587\""},
		{"no value", "\n[h]:587\n", "p:2: entry for \"[h]:587\""},
		{"bad hop", "[h:587 a:b\n", "p:1: next hop \"[h:587\": missing ]"},
		{"duplicate", "h a:b\nH c:d\n", "p:2: duplicate entry \"h\" (first on line 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePasswords("p", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), ":b") || strings.Contains(err.Error(), ":d") {
				t.Errorf("error quotes a password: %v", err)
			}
		})
	}
}
