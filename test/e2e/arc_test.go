package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"

	"mailwarden/internal/dnsx/dnstest"
)

// dkimpyARC signs (arc_sign) and verifies (arc_verify) ARC sets with
// Python's dkimpy (Debian python3-dkim, the library of its arcsign and
// arcverify), keys served from a JSON map instead of DNS.
const dkimpyARC = `
import json, sys, dkim
zone = json.load(open(sys.argv[2]))
def dnsfunc(name, timeout=5):
    v = zone.get(name.decode().rstrip('.').lower())
    return v.encode() if v else None
msg = sys.stdin.buffer.read()
if sys.argv[1] == 'verify':
    cv, results, comment = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    print((cv or b'None').decode(), comment)
else:
    sel, dom, keyfile, srv = sys.argv[3:7]
    sig = dkim.arc_sign(msg, sel.encode(), dom.encode(), open(keyfile, 'rb').read(), srv.encode())
    if not sig:
        sys.exit('arc_sign made no set')
    sys.stdout.buffer.write(b''.join(sig) + msg)
`

type arcPeer struct {
	t      *testing.T
	dir    string
	zone   map[string]string
	dns    *dnstest.Server
	script string
}

func newARCPeer(t *testing.T, dns *dnstest.Server) *arcPeer {
	t.Helper()
	requireTool(t, python)
	if out, err := exec.Command(python, "-c", "import dkim, authres").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dkimpy missing: apt-get install python3-dkim (%v: %s)", err, out)
		}
		t.Skipf("dkimpy missing (apt-get install python3-dkim); skipping")
	}
	p := &arcPeer{t: t, dir: t.TempDir(), zone: map[string]string{}, dns: dns}
	p.script = filepath.Join(p.dir, "arc.py")
	if err := os.WriteFile(p.script, []byte(dkimpyARC), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// key makes an RSA key published at name (in the test DNS and for
// dkimpy) and returns its PEM file.
func (p *arcPeer) key(name string) string {
	p.t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	rec := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	p.zone[name] = rec
	p.dns.TXT(name, rec)
	file := filepath.Join(p.dir, strings.ReplaceAll(name, ".", "_")+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return file
}

func (p *arcPeer) run(msg string, args ...string) string {
	p.t.Helper()
	zone := filepath.Join(p.dir, "zone.json")
	zj, _ := json.Marshal(p.zone)
	if err := os.WriteFile(zone, zj, 0o600); err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(python, append([]string{p.script, args[0], zone}, args[1:]...)...)
	cmd.Stdin = strings.NewReader(msg)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("dkimpy %s: %v\n%s", args[0], err, errb.String())
	}
	return out.String()
}

func (p *arcPeer) verify(msg string) string { return strings.TrimSpace(p.run(msg, "verify")) }

// ourResults returns the values of the fields named name whose
// authserv-id (after "i=N;" for an AAR) is mx.test.example.
func ourResults(data []byte, name string) []string {
	var out []string
	for _, line := range unfoldedFields(data) {
		n, v, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(n, name) {
			continue
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "i=") {
			_, v, _ = strings.Cut(v, ";")
			v = strings.TrimSpace(v)
		}
		if strings.HasPrefix(strings.ToLower(v), "mx.test.example;") {
			out = append(out, v)
		}
	}
	return out
}

// unfoldedFields returns the header fields of a message, unfolded.
func unfoldedFields(data []byte) []string {
	head, _, _ := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n\n")
	var fields []string
	for _, l := range strings.Split(head, "\n") {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += l
			continue
		}
		fields = append(fields, l)
	}
	return fields
}

// TestARC: mail from outside to an alias that forwards off the host
// reaches the remote MX with an ARC set that dkimpy validates, its AAR
// holding our Authentication-Results; a chain dkimpy sealed passes here,
// the same chain with a changed body is arc=fail, and forwarding it adds
// a cv=fail set that dkimpy rejects too.
func TestARC(t *testing.T) {
	k, port := startSink(t)
	dns := dnstest.New(t, `
remote.test. MX 10 mx.remote.test.
mx.remote.test. A 127.0.0.2
3.0.0.127.in-addr.arpa. PTR mail.sender.example.
mail.sender.example. A 127.0.0.3
`)
	peer := newARCPeer(t, dns)
	sealKey := peer.key("arc._domainkey.test.example") // hostname mx.test.example: d=test.example
	listKey := peer.key("sel._domainkey.list.example")
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{
		"", "[outbound]", fmt.Sprintf("smtp_port = %d", port),
		"", "[arc]", fmt.Sprintf("key_file = %q", sealKey),
	}}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		s.addUser("ann@dom.test")
		s.admin("alias", "add", "fwd@dom.test", "friend@remote.test")
	})
	forwarded := func(t *testing.T, id string) []byte {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			for _, m := range k.received() {
				if strings.Contains(m.Data, id) {
					return []byte(m.Data)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s did not reach the remote MX", id)
		return nil
	}

	t.Run("sealed when forwarded", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("arcfwd")
		s.send("sender@sender.example", "fwd@dom.test", message("sender@sender.example", "fwd@dom.test", "arc", id, "forward me"),
			"--local-interface", "127.0.0.3")
		data := forwarded(t, id)
		if got := peer.verify(string(data)); got != "pass success" {
			t.Fatalf("dkimpy's arc_verify: %s\n%s", got, data)
		}
		ar, aar := ourResults(data, "Authentication-Results"), ourResults(data, "ARC-Authentication-Results")
		if len(ar) != 1 || len(aar) != 1 {
			t.Fatalf("Authentication-Results %q, ARC-Authentication-Results %q", ar, aar)
		}
		if strings.Join(strings.Fields(ar[0]), " ") != strings.Join(strings.Fields(aar[0]), " ") {
			t.Errorf("the AAR does not copy our results:\n AR %s\nAAR %s", ar[0], aar[0])
		}
		// The AAR parses as Authentication-Results (go-msgauth, Python's
		// authres) and carries every method we checked.
		if _, _, err := authres.Parse(aar[0]); err != nil {
			t.Fatalf("authres.Parse(%q): %v", aar[0], err)
		}
		py := "import sys, authres\nr = authres.AuthenticationResultsHeader.parse('Authentication-Results: ' + sys.argv[1])\n" +
			"print(r.authserv_id, ' '.join(x.method + '=' + x.result for x in r.results))"
		out, err := exec.Command(python, "-c", py, aar[0]).CombinedOutput()
		if err != nil {
			t.Fatalf("python authres: %v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		for _, want := range []string{"iprev=pass", "domainkeys=none", "arc=none", "dmarc=none"} {
			if len(got) == 0 || got[0] != "mx.test.example" || !slices.Contains(got, want) {
				t.Errorf("AAR read by Python's authres: %q, want %s in it", out, want)
			}
		}
		if !strings.Contains(string(data), "cv=none") || !strings.Contains(string(data), "d=test.example; s=arc;") {
			t.Errorf("seal:\n%s", data)
		}
	})

	// A message a mailing list sealed (dkimpy as the list's ARC signer).
	listed := func(id string) string {
		in := "Authentication-Results: mx.list.example; spf=pass smtp.mailfrom=sender.example\r\n" +
			message("sender@sender.example", "list@list.example", "via list", id, "posted to the list")
		return peer.run(in, "sign", "sel", "list.example", listKey, "mx.list.example")
	}
	t.Run("dkimpy chain passes", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("arcpass")
		s.send("list-bounces@list.example", "ann@dom.test", listed(id), "--local-interface", "127.0.0.3")
		files := s.findMessage("ann@dom.test", id)
		if len(files) != 1 {
			t.Fatalf("%d copies", len(files))
		}
		ar := ourResults(files[0].Data, "Authentication-Results")
		if len(ar) != 1 || !strings.Contains(ar[0], "arc=pass (i=1) header.oldest-pass=0 smtp.remote-ip=127.0.0.3") {
			t.Fatalf("Authentication-Results %q", ar)
		}
	})
	t.Run("broken chain fails", func(t *testing.T) {
		s := s.on(t)
		id := newMessageID("arcfail")
		broken := strings.Replace(listed(id), "posted to the list", "changed after sealing", 1)
		if got := peer.verify(broken); !strings.HasPrefix(got, "fail") {
			t.Fatalf("dkimpy on the changed message: %s", got)
		}
		s.send("list-bounces@list.example", "ann@dom.test", broken, "--local-interface", "127.0.0.3")
		files := s.findMessage("ann@dom.test", id)
		if len(files) != 1 {
			t.Fatalf("%d copies", len(files))
		}
		ar := ourResults(files[0].Data, "Authentication-Results")
		if len(ar) != 1 || !strings.Contains(ar[0], "arc=fail (ARC-Message-Signature i=1: body hash did not verify)") {
			t.Fatalf("Authentication-Results %q", ar)
		}
		// Forwarded, it gets our cv=fail set; dkimpy agrees it failed.
		s.send("list-bounces@list.example", "fwd@dom.test", broken, "--local-interface", "127.0.0.3")
		data := forwarded(t, id)
		if !strings.Contains(string(data), "i=2; a=rsa-sha256;") || !strings.Contains(string(data), "cv=fail") {
			t.Fatalf("forwarded broken chain:\n%s", data)
		}
		if got := peer.verify(string(data)); !strings.HasPrefix(got, "fail") && !strings.Contains(got, "reported failure") {
			t.Fatalf("dkimpy on our cv=fail set: %s", got)
		}
	})
}

// TestARCWithDKIMKey: without [arc] key_file, forwarded mail is sealed
// with the key `dkim keygen` made for the sealing domain, under its
// selector, as soon as it exists.
func TestARCWithDKIMKey(t *testing.T) {
	k, port := startSink(t)
	dns := dnstest.New(t, `
remote.test. MX 10 mx.remote.test.
mx.remote.test. A 127.0.0.2
`)
	peer := newARCPeer(t, dns)
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, func(s *server) {
		s.admin("domain", "add", "dom.test")
		s.admin("alias", "add", "fwd@dom.test", "friend@remote.test")
	})
	forward := func(tag string) string {
		t.Helper()
		id := newMessageID(tag)
		s.send("sender@sender.example", "fwd@dom.test", message("sender@sender.example", "fwd@dom.test", "arc", id, "forward me"),
			"--local-interface", "127.0.0.3")
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, m := range k.received() {
				if strings.Contains(m.Data, id) {
					return m.Data
				}
			}
		}
		t.Fatalf("%s did not reach the remote MX", id)
		return ""
	}
	if data := forward("arcnokey"); strings.Contains(data, "ARC-Seal") {
		t.Fatalf("sealed before any key exists:\n%s", data)
	}
	out := s.admin("dkim", "keygen", "test.example", "--selector", "mw2026")
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || lines[0] != "mw2026._domainkey.test.example." {
		t.Fatalf("dkim keygen printed:\n%s", out)
	}
	dns.TXT(lines[0], lines[1])
	peer.zone["mw2026._domainkey.test.example"] = lines[1]
	data := forward("arckey")
	if !strings.Contains(data, "d=test.example; s=mw2026;") {
		t.Fatalf("not sealed with the DKIM key:\n%s", data)
	}
	if got := peer.verify(data); got != "pass success" {
		t.Fatalf("dkimpy's arc_verify: %s\n%s", got, data)
	}
}
