package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

// TestAuthenticationResults: mail from outside gets one
// Authentication-Results field with the hostname as authserv-id and the
// iprev result of its client; a field that claims our authserv-id
// arriving from outside is removed, another server's is kept; mail from
// mynetworks gets none. The field parses with go-msgauth's authres and
// with Python's authres (RFC 8601).
func TestAuthenticationResults(t *testing.T) {
	dns := hermeticDNS(t, `
2.0.0.127.in-addr.arpa. PTR mail.good.example.
mail.good.example. A 127.0.0.2
3.0.0.127.in-addr.arpa. PTR forged.example.
forged.example. A 127.0.0.99
`)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}}, func(s *server) {
		s.admin("domain", "add", "e2e.test")
		s.addUser("ann@e2e.test")
	})
	forged := "Authentication-Results: MX.test.example; dkim=pass header.d=bank.example\r\n" +
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@y\r\n"
	cases := []struct {
		name, src string
		want      []authres.Result // methods and results, in order
		none      bool             // no Authentication-Results of ours
	}{
		{"confirmed PTR", "127.0.0.2", []authres.Result{&authres.IPRevResult{Value: authres.ResultPass, IP: "127.0.0.2"}}, false},
		{"PTR not confirmed", "127.0.0.3", []authres.Result{&authres.IPRevResult{Value: authres.ResultFail, IP: "127.0.0.3"}}, false},
		{"mynetworks", "127.0.0.1", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := s.on(t)
			id := newMessageID("ar")
			s.send("sender@outside.example", "ann@e2e.test", forged+message("sender@outside.example", "ann@e2e.test", "ar", id, "hello"),
				"--local-interface", tc.src)
			files := s.findMessage("ann@e2e.test", id)
			if len(files) != 1 {
				t.Fatalf("%d copies of %s", len(files), id)
			}
			var ours []string
			others := 0
			for _, v := range files[0].Headers["Authentication-Results"] {
				if id, _, err := authres.Parse(v); err == nil && strings.EqualFold(id, "mx.test.example") {
					ours = append(ours, v)
				} else if strings.HasPrefix(v, "other.example;") {
					others++
				}
			}
			if others != 1 {
				t.Errorf("another server's Authentication-Results was not kept as it was")
			}
			if tc.none {
				// From mynetworks: nothing is verified and nothing of the
				// sender's is touched (it is ours to trust).
				if len(ours) != 1 || !strings.Contains(ours[0], "bank.example") {
					t.Errorf("mynetworks mail: Authentication-Results %q, want only the sender's own", ours)
				}
				return
			}
			if len(ours) != 1 {
				t.Fatalf("%d Authentication-Results with our authserv-id, want 1: %q", len(ours), ours)
			}
			if strings.Contains(ours[0], "bank.example") {
				t.Errorf("the forged field survived: %q", ours[0])
			}
			_, results, err := authres.Parse(ours[0])
			if err != nil {
				t.Fatalf("authres.Parse(%q): %v", ours[0], err)
			}
			var got []authres.Result
			for _, r := range results {
				if ip, ok := r.(*authres.IPRevResult); ok {
					got = append(got, &authres.IPRevResult{Value: ip.Value, IP: ip.IP})
				}
			}
			if len(got) != len(tc.want) || len(got) > 0 && *got[0].(*authres.IPRevResult) != *tc.want[0].(*authres.IPRevResult) {
				t.Errorf("iprev results %+v, want %+v (field %q)", got, tc.want, ours[0])
			}
			// Python's parser reads the same field.
			py := `import sys, authres
r = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + sys.argv[1])
print(r.authserv_id)
for x in r.results:
    print(x.method, x.result)`
			out, err := exec.Command(python, "-c", py, strings.ReplaceAll(ours[0], "\r\n", "")).CombinedOutput()
			if err != nil {
				t.Fatalf("python authres: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if lines[0] != "mx.test.example" || !strings.Contains(string(out), "iprev "+string(tc.want[0].(*authres.IPRevResult).Value)) {
				t.Errorf("python authres read %q", out)
			}
		})
	}
}
