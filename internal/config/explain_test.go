package config

import (
	"strings"
	"testing"
)

// TestExplainedErrors: the decoder's jargon becomes what the key wants,
// in TOML, at the right line.
func TestExplainedErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"string for a list", "[listen]\nsmtp = \"127.0.0.1:25\"\n",
			`f.toml:2: listen.smtp must be a list of addresses, e.g. smtp = ["0.0.0.0:25"]`},
		{"numbers in an address list", "[listen]\n\nimaps = [993]\n",
			`f.toml:3: listen.imaps must be a list of addresses, e.g. imaps = ["0.0.0.0:993"]`},
		{"postfix-style network list", "hostname = \"a.b\"\nmynetworks = 127.0.0.0/8, [::1]/128\n",
			`f.toml:2: mynetworks entries are quoted strings in a list: mynetworks = ["127.0.0.0/8", "[::1]/128"]`},
		{"postfix-style single network", "mynetworks = 127.0.0.0/8 # local\n",
			`f.toml:1: mynetworks entries are quoted strings in a list: mynetworks = ["127.0.0.0/8"]`},
		{"unquoted string", "[outbound]\nrelayhost = [smtp.example.com]:587\n",
			`f.toml:2:`},
		{"unquoted host name", "hostname = mail.example.com\n",
			`f.toml:1: hostname is a quoted string: hostname = "mail.example.com"`},
		{"quoted number", "[smtp]\nmax_connections = \"3\"\n",
			`f.toml:2: smtp.max_connections must be a number without quotes, e.g. max_connections = 10000`},
		{"quoted bool", "[smtp]\npermit_mynetworks = \"yes\"\n",
			`f.toml:2: smtp.permit_mynetworks must be true or false, without quotes, e.g. permit_mynetworks = true`},
		{"bad duration names its key", "[smtp]\ntimeout = true\n",
			`f.toml:2: smtp.timeout: duration must be`},
		{"misspelt key", "[smtp]\nmax_conections = 3\n",
			`f.toml:2: unknown key "smtp.max_conections" — did you mean max_connections?`},
		{"postfix's longer name", "[queue]\ndefault_destination_concurrency_limit = 3\n",
			`f.toml:2: unknown key "queue.default_destination_concurrency_limit" — did you mean destination_concurrency_limit?`},
		{"key in the wrong table", "[smtp]\nrelayhost = \"[a.example]\"\n",
			`f.toml:2: unknown key "smtp.relayhost" — did you mean relayhost in [outbound]?`},
		{"top-level key under a table", "[listen]\nmynetworks = [\"10.0.0.0/8\"]\n",
			`f.toml:2: unknown key "listen.mynetworks" — did you mean mynetworks at the top of the file (before any [table])?`},
		{"nothing near", "[smtp]\nzzzzzz = 1\n", `f.toml:2: unknown key "smtp.zzzzzz"`},
		{"array of tables", "[[listen]]\n", `f.toml:1: listen must be a table: a [listen] section`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "did you mean") && strings.Contains(tc.name, "nothing") {
				t.Errorf("suggests something for a key nothing is near: %v", err)
			}
			if strings.Contains(err.Error(), "incompatible types") || strings.Contains(err.Error(), "Invalid float") {
				t.Errorf("decoder jargon left in %q", err)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"max_conections", "max_connections", 1}} {
		if got := editDistance(tc.a, tc.b); got != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.d)
		}
	}
}
