package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for names valid from
// notBefore to notAfter, and its key, as PEM files in dir.
func writeCert(t testing.TB, dir, name string, names []string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// lineNo is the 1-based line of the config file that contains s.
func lineNo(t testing.TB, path, s string) int {
	t.Helper()
	for i, l := range strings.Split(readFileOr(t, path), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", path, s)
	return 0
}

// TestCheckConfigDryRun: check-config catches what would stop serve
// after the config parsed — certificate files missing, a key that is not
// the certificate's, an expired certificate, a port taken by another
// program, an address listed twice — each on its own line with the
// file:line of the key and what to do; a certificate expiring soon is a
// warning only. serve refuses the same file, and starts once check-config
// passes.
func TestCheckConfigDryRun(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	now := time.Now()
	goodCert, goodKey := writeCert(t, s.Dir, "good", []string{"mx.test.example"}, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	_, otherKey := writeCert(t, s.Dir, "other", []string{"mx.test.example"}, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	oldCert, oldKey := writeCert(t, s.Dir, "old", []string{"mx.test.example"}, now.AddDate(-1, 0, 0), now.Add(-24*time.Hour))
	soonCert, soonKey := writeCert(t, s.Dir, "soon", []string{"mx.test.example"}, now.Add(-time.Hour), now.Add(5*24*time.Hour))
	tlsSection := func(cert, key string) []string {
		return []string{"", "[tls]", "cert_file = " + strconv.Quote(cert), "key_file = " + strconv.Quote(key)}
	}

	check := func(name string, opts options, wantCode int, wants ...[2]string) {
		t.Helper()
		s.setOptions(opts)
		code, out, errOut := s.cli("check-config")
		if (code == 0) != (wantCode == 0) {
			t.Errorf("%s: check-config exit %d, want %d\n%s%s", name, code, wantCode, out, errOut)
		}
		for _, w := range wants {
			line := lineNo(t, s.Config, w[0])
			if !lineWith(errOut, s.Config+":"+strconv.Itoa(line)+":", w[1]) {
				t.Errorf("%s: check-config output lacks %s:%d: ... %q\n%s", name, s.Config, line, w[1], errOut)
			}
		}
	}
	missing := filepath.Join(s.Dir, "nope.crt")
	check("missing certificate", options{Extra: tlsSection(missing, goodKey)}, 1,
		[2]string{"cert_file", "cannot read " + missing + ": no such file or directory — check the path"})
	check("key of another certificate", options{Extra: tlsSection(goodCert, otherKey)}, 1,
		[2]string{"key_file", "is not the key of the certificate in " + goodCert})
	check("expired certificate", options{Extra: tlsSection(oldCert, oldKey)}, 1,
		[2]string{"cert_file", "expired on " + now.Add(-24*time.Hour).UTC().Format(time.DateOnly) + " — renew it"})
	check("certificate expiring soon", options{Extra: tlsSection(soonCert, soonKey)}, 0,
		[2]string{"cert_file", "warning: tls.cert_file: the certificate in " + soonCert + " expires on"})

	// A port another program holds, and one address given to two services.
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	taken := other.Addr().String()
	dup := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s.setOptions(options{})
	cfg := readFileOr(t, s.Config)
	cfg = strings.Replace(cfg, "imap = [", "imap = ["+strconv.Quote(taken)+", ", 1)
	cfg = strings.Replace(cfg, "pop3 = [", "pop3 = ["+strconv.Quote(dup)+", ", 1)
	cfg = strings.Replace(cfg, "pop3s = [", "pop3s = ["+strconv.Quote(dup)+", ", 1)
	if err := os.WriteFile(s.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := s.cli("check-config")
	if code == 0 {
		t.Errorf("check-config passes with %s taken and %s listed twice", taken, dup)
	}
	for _, w := range []struct{ key, want string }{
		{"imap = [", "listen.imap " + taken + ": "},
		{"pop3s = [", "listen.pop3s " + dup + ": "},
	} {
		line := lineNo(t, s.Config, w.key)
		if !lineWith(errOut, s.Config+":"+strconv.Itoa(line)+":", w.want) || !lineWith(errOut, w.want, "address already in use — another program listens there") {
			t.Errorf("check-config output lacks %s:%d: %s... address already in use — what to do:\n%s", s.Config, line, w.want, errOut)
		}
	}
	if code, _, errOut := s.cli("serve"); code == 0 || !strings.Contains(errOut, "listen.imap "+taken) {
		t.Errorf("serve with a taken port: exit %d, want non-zero naming listen.imap %s:\n%s", code, taken, errOut)
	}

	// What check-config passes starts.
	s.setOptions(options{Extra: tlsSection(goodCert, goodKey)})
	if code, out, errOut := s.cli("check-config"); code != 0 || !strings.Contains(out, ": ok") {
		t.Fatalf("check-config on a good file: exit %d\n%s%s", code, out, errOut)
	}
	s.start()
}

// TestConfigErrorsReadable: the mistakes a Postfix admin makes in TOML get
// a sentence with the TOML to write, from check-config and serve alike.
func TestConfigErrorsReadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, src, want string }{
		{"address as a string", "[listen]\nsmtp = \"127.0.0.1:25\"\n", `:2: listen.smtp must be a list of addresses, e.g. smtp = ["0.0.0.0:25"]`},
		{"postfix mynetworks", "mynetworks = 127.0.0.0/8 [::1]/128\n", `:1: mynetworks entries are quoted strings in a list: mynetworks = ["127.0.0.0/8", "[::1]/128"]`},
		{"misspelt key", "[smtp]\nmax_conections = 5\n", `:2: unknown key "smtp.max_conections" — did you mean max_connections?`},
		{"postfix queue key", "[queue]\ndefault_destination_concurrency_limit = 5\n", `did you mean destination_concurrency_limit?`},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".toml")
		if err := os.WriteFile(path, []byte("data_dir = \""+dir+"\"\n"+tc.src), 0o600); err != nil {
			t.Fatal(err)
		}
		// tc.want's line counts from the source; the data_dir line comes first.
		want := tc.want
		if strings.HasPrefix(want, ":") {
			n, rest, _ := strings.Cut(want[1:], ":")
			line, _ := strconv.Atoi(n)
			want = path + ":" + strconv.Itoa(line+1) + ":" + rest
		}
		for _, verb := range []string{"check-config", "serve"} {
			out, err := exec.Command(mwBin, verb, "-config", path).CombinedOutput()
			if err == nil || !strings.Contains(string(out), want) {
				t.Errorf("%s, %s: err %v, output\n%s\nwant %q", tc.name, verb, err, out, want)
			}
			for _, jargon := range []string{"incompatible types", "Invalid float", "destination has type"} {
				if strings.Contains(string(out), jargon) {
					t.Errorf("%s, %s: decoder jargon %q in\n%s", tc.name, verb, jargon, out)
				}
			}
		}
	}
}

// TestDataDirUnwritable: a data_dir the server's user cannot write is
// named with its path and what to do, by check-config and by serve (no
// "unable to open database file (14)").
func TestDataDirUnwritable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the binary as another user")
	}
	dir, err := os.MkdirTemp("", "mw-unwritable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil { // root's, not nobody's
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mailwarden.toml")
	port := freePort(t)
	src := "hostname = \"mx.test.example\"\ndata_dir = " + strconv.Quote(data) + "\n[listen]\nsmtp = [\"127.0.0.1:" + strconv.Itoa(port) + "\"]\n"
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mailwarden") // mwBin's directory is root's only
	if err := os.WriteFile(bin, []byte(readFileOr(t, mwBin)), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"check-config", "serve"} {
		cmd := exec.Command(bin, verb, "-config", cfg)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s as nobody with a root-owned data_dir succeeded:\n%s", verb, out)
			continue
		}
		want := data + " is not writable: permission denied — make it writable by the user the server runs as (mkdir -p " + data + " && chown -R USER: " + data + ")"
		if !strings.Contains(string(out), want) || strings.Contains(string(out), "(14)") {
			t.Errorf("%s as nobody: output\n%s\nwant %q", verb, out, want)
		}
	}
}
