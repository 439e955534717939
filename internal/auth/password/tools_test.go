package password

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Hashes in these tests are made at test time by the real tools (Dovecot's
// doveadm and whois's mkpasswd), never copied in, so they check this package
// against what those tools write today.

// testPasswords cover ASCII, UTF-8, crypt/scheme metacharacters, and a long
// one (> 72 bytes for bcrypt, > 64 bytes so CRAM-MD5 hashes the key first).
var testPasswords = []string{
	"secret",
	"Pässwörd ✓ mit Leerzeichen",
	"a$b{c}d:e\\f'g\"h",
	strings.Repeat("0123456789", 10),
}

// wrongPasswords returns candidates that must not match pw. Each differs
// within the first 72 bytes, as bcrypt ignores anything after those.
func wrongPasswords(pw string) []string {
	if pw == "" {
		return []string{"x", " "}
	}
	return []string{"", "x" + pw, pw[1:], " " + pw}
}

// needTool returns the path of tool, failing under CI=true and skipping
// otherwise when it is not installed.
func needTool(t *testing.T, tool, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		msg := tool + " not installed: apt-get install " + pkg
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s", msg)
		}
		t.Skip(msg)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %q: %v %s", name, args, err, stderr)
	}
	return strings.TrimRight(string(out), "\r\n")
}

// checkStored verifies that stored matches pw, that wrong passwords don't,
// and that Scheme names it want.
func checkStored(t *testing.T, stored, pw, want string) {
	t.Helper()
	if got := Scheme(stored); got != want {
		t.Errorf("Scheme(%q) = %q, want %q", stored, got, want)
	}
	ok, err := Verify(stored, pw)
	if err != nil || !ok {
		t.Errorf("Verify(%q, %q) = %v, %v; want true, nil", stored, pw, ok, err)
	}
	for _, wrong := range wrongPasswords(pw) {
		ok, err := Verify(stored, wrong)
		if err != nil || ok {
			t.Errorf("Verify(%q, wrong %q) = %v, %v; want false, nil", stored, wrong, ok, err)
		}
	}
}

func TestDoveadmSchemes(t *testing.T) {
	doveadm := needTool(t, "doveadm", "dovecot-core")
	tests := []struct {
		scheme string   // doveadm -s
		args   []string // extra doveadm args
		want   string   // Scheme()
		crypt  bool     // body is a bare crypt string: also test it unprefixed
	}{
		{scheme: "ARGON2ID", want: "ARGON2ID", crypt: true},
		{scheme: "ARGON2I", want: "ARGON2I", crypt: true},
		{scheme: "BLF-CRYPT", want: "BLF-CRYPT", crypt: true},
		{scheme: "BLF-CRYPT", args: []string{"-r", "6"}, want: "BLF-CRYPT", crypt: true},
		{scheme: "SHA512-CRYPT", want: "SHA512-CRYPT", crypt: true},
		{scheme: "SHA512-CRYPT", args: []string{"-r", "10000"}, want: "SHA512-CRYPT", crypt: true},
		{scheme: "SHA256-CRYPT", want: "SHA256-CRYPT", crypt: true},
		{scheme: "SHA256-CRYPT", args: []string{"-r", "1000"}, want: "SHA256-CRYPT", crypt: true},
		{scheme: "MD5-CRYPT", want: "MD5-CRYPT", crypt: true},
		{scheme: "MD5", want: "MD5-CRYPT"},
		{scheme: "CRYPT", want: "BLF-CRYPT"},
		{scheme: "SSHA512", want: "SSHA512"},
		{scheme: "SSHA512.b64", want: "SSHA512"},
		{scheme: "SSHA512.hex", want: "SSHA512"},
		{scheme: "SSHA256", want: "SSHA256"},
		{scheme: "SSHA", want: "SSHA"},
		{scheme: "SSHA.hex", want: "SSHA"},
		{scheme: "SMD5", want: "SMD5"},
		{scheme: "SHA512", want: "SHA512"},
		{scheme: "SHA512.hex", want: "SHA512"},
		{scheme: "SHA256", want: "SHA256"},
		{scheme: "SHA256.hex", want: "SHA256"},
		{scheme: "SHA", want: "SHA1"},
		{scheme: "SHA1", want: "SHA1"},
		{scheme: "SHA.hex", want: "SHA1"},
		{scheme: "PLAIN-MD5", want: "PLAIN-MD5"},
		{scheme: "PLAIN-MD5.b64", want: "PLAIN-MD5"},
		{scheme: "LDAP-MD5", want: "LDAP-MD5"},
		{scheme: "LDAP-MD5.hex", want: "LDAP-MD5"},
		{scheme: "CRAM-MD5", want: "CRAM-MD5"},
		{scheme: "CRAM-MD5.b64", want: "CRAM-MD5"},
		{scheme: "HMAC-MD5", want: "CRAM-MD5"},
		{scheme: "PLAIN", want: "PLAIN"},
		{scheme: "PLAIN.b64", want: "PLAIN"},
		{scheme: "PLAIN.hex", want: "PLAIN"},
		{scheme: "CLEARTEXT", want: "PLAIN"},
		{scheme: "CLEAR", want: "PLAIN"},
	}
	for _, tt := range tests {
		name := strings.Join(append([]string{tt.scheme}, tt.args...), " ")
		t.Run(name, func(t *testing.T) {
			for i, pw := range testPasswords {
				args := append([]string{"pw", "-s", tt.scheme, "-p", pw}, tt.args...)
				stored := run(t, doveadm, args...)
				if !strings.HasPrefix(stored, "{") {
					t.Fatalf("doveadm %q printed %q, want a {SCHEME} prefix", args, stored)
				}
				checkStored(t, stored, pw, tt.want)
				end := strings.IndexByte(stored, '}')
				if i == 0 { // Scheme names are case-insensitive in Dovecot.
					checkStored(t, strings.ToLower(stored[:end])+stored[end:], pw, tt.want)
				}
				if tt.crypt {
					checkStored(t, stored[end+1:], pw, tt.want)
				}
			}
		})
	}
}

func TestMkpasswd(t *testing.T) {
	mkpasswd := needTool(t, "mkpasswd", "whois")
	tests := []struct {
		method string
		args   []string
		want   string
	}{
		{method: "sha-512", want: "SHA512-CRYPT"},
		{method: "sha-512", args: []string{"-R", "20000"}, want: "SHA512-CRYPT"},
		{method: "sha-256", want: "SHA256-CRYPT"},
		{method: "sha-256", args: []string{"-R", "5000"}, want: "SHA256-CRYPT"},
		{method: "md5crypt", want: "MD5-CRYPT"},
		{method: "bcrypt", want: "BLF-CRYPT"},
		{method: "bcrypt", args: []string{"-R", "7"}, want: "BLF-CRYPT"},
		{method: "bcrypt-a", want: "BLF-CRYPT"},
	}
	for _, tt := range tests {
		name := strings.Join(append([]string{tt.method}, tt.args...), " ")
		t.Run(name, func(t *testing.T) {
			for _, pw := range testPasswords {
				args := append([]string{"-m", tt.method}, tt.args...)
				args = append(args, "--", pw)
				stored := run(t, mkpasswd, args...)
				if !strings.HasPrefix(stored, "$") {
					t.Fatalf("mkpasswd %q printed %q, want a crypt string", args, stored)
				}
				checkStored(t, stored, pw, tt.want) // bare, as postfixadmin stores it
				checkStored(t, "{"+tt.want+"}"+stored, pw, tt.want)
				checkStored(t, "{CRYPT}"+stored, pw, tt.want)
			}
		})
	}
}

// TestDoveadmReadsHash checks that Dovecot itself accepts what Hash writes.
func TestDoveadmReadsHash(t *testing.T) {
	doveadm := needTool(t, "doveadm", "dovecot-core")
	for _, pw := range testPasswords {
		stored, err := Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		out := run(t, doveadm, "pw", "-t", stored, "-p", pw)
		if !strings.Contains(out, "(verified)") {
			t.Errorf("doveadm pw -t %q: %q, want (verified)", stored, out)
		}
		if err := exec.Command(doveadm, "pw", "-t", stored, "-p", "x"+pw).Run(); err == nil {
			t.Errorf("doveadm pw -t %q accepted a wrong password", stored)
		}
	}
}
