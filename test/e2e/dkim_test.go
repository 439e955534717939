package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// dkimpyVerify verifies every DKIM-Signature of the message on stdin
// with dkimpy (Debian python3-dkim), the key records given as "name
// record" arguments standing in for DNS; it prints one result a line.
const dkimpyVerify = `
import sys, dkim
recs = {}
for a in sys.argv[1:]:
    n, r = a.split(' ', 1)
    recs[n.encode()] = r.encode()
def dns(name, timeout=5):
    return recs.get(name.rstrip(b'.'), None)
d = dkim.DKIM(sys.stdin.buffer.read())
for i in range(len([h for h in d.headers if h[0].lower() == b'dkim-signature'])):
    try:
        print('pass' if d.verify(idx=i, dnsfunc=dns) else 'fail')
    except dkim.ValidationError as e:
        print('fail', e)
`

// dkimpySign signs the message on stdin with argv selector, domain, PEM
// key file and prints the DKIM-Signature field.
const dkimpySign = `
import sys, dkim
sig = dkim.sign(sys.stdin.buffer.read(), sys.argv[1].encode(), sys.argv[2].encode(), open(sys.argv[3], 'rb').read(),
    canonicalize=(b'relaxed', b'simple'), linesep=b'\r\n')
sys.stdout.write(sig.decode())
`

func requireDkimpy(t *testing.T) {
	t.Helper()
	requireTool(t, python)
	if err := exec.Command(python, "-c", "import dkim").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-dkim is not installed: apt-get install python3-dkim")
		}
		t.Skip("python3-dkim is not installed (apt-get install python3-dkim); skipping")
	}
}

// TestDKIM: `dkim keygen` prints the record to publish; from then on
// mail a user submits with AUTH arrives at the remote MX signed with
// the domain's RSA and Ed25519 keys, and dkimpy and OpenDKIM verify both
// signatures against the published records. Inbound mail signed
// elsewhere (dkimpy) and the relayed message itself get dkim=pass with
// header.d in Authentication-Results, parsed back with go-msgauth's
// authres; a message changed after signing gets dkim=fail.
func TestDKIM(t *testing.T) {
	requireDkimpy(t)
	opendkim := "/usr/sbin/opendkim"
	requireTool(t, opendkim)
	k, port := startSink(t)
	dns := hermeticDNS(t, `
remote.test. MX 10 mx1.remote.test.
mx1.remote.test. A 127.0.0.2
`)
	const user, pw = "dora@sign.test", "correct horse battery"
	s := startServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{"", "[outbound]", fmt.Sprintf("smtp_port = %d", port)}}, func(s *server) {
		s.admin("domain", "add", "sign.test")
		s.addUser(user)
	})
	// keygen: the record name, then its value, then the zone-file form.
	var records []string
	for _, algo := range []string{"rsa2048", "ed25519"} {
		out := s.admin("dkim", "keygen", "sign.test", "--algo", algo)
		lines := strings.Split(out, "\n")
		name, value := lines[0], lines[1]
		if !strings.HasSuffix(name, "._domainkey.sign.test.") || !strings.HasPrefix(value, "v=DKIM1; k=") || !strings.Contains(out, name+"\tIN\tTXT\t(") {
			t.Fatalf("dkim keygen --algo %s printed:\n%s", algo, out)
		}
		dns.TXT(name, value)
		records = append(records, strings.TrimSuffix(name, ".")+" "+value)
	}
	if out := s.admin("dkim", "list"); strings.Count(out, "sign.test") != 2 || strings.Count(out, "active") != 2 {
		t.Errorf("dkim list:\n%s", out)
	}

	// Outbound: submitted with AUTH from outside mynetworks, signed twice.
	id := newMessageID("dkim")
	msg := message(user, "friend@remote.test", "signed for you", id, "Hello friend,\n\nthis is signed.\n")
	r := s.swaks("--server", fmt.Sprintf("127.0.0.1:%d", s.SubmissionPort), "--tls", "--auth", "PLAIN", "--auth-user", user, "--auth-password", pw,
		"--local-interface", "127.0.0.2", "--from", user, "--to", "friend@remote.test", "--data", "@"+s.writeMessage(msg))
	if r.Code != 0 {
		t.Fatalf("submission: exit %d\n%s", r.Code, r.Out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(k.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := k.received()
	if len(got) != 1 {
		t.Fatalf("the remote MX received %d messages; log:\n%s", len(got), s.Log())
	}
	relayed := got[0].Data
	head, _, _ := strings.Cut(relayed, "\r\n\r\n")
	if n := strings.Count(head, "DKIM-Signature:"); n != 2 || !strings.Contains(head, "d=sign.test") ||
		!strings.Contains(head, "a=rsa-sha256") || !strings.Contains(head, "a=ed25519-sha256") {
		t.Fatalf("relayed header (%d signatures):\n%s", n, head)
	}
	if out := runPythonIn(t, relayed, dkimpyVerify, records...); out != "pass\npass\n" {
		t.Errorf("dkimpy on the relayed message: %q", out)
	}
	// OpenDKIM's filter in test mode, with the records as TestDNSData.
	dir := t.TempDir()
	dnsFile := filepath.Join(dir, "dns.txt")
	os.WriteFile(dnsFile, []byte(strings.Join(records, "\n")+"\n"), 0o600)
	conf := filepath.Join(dir, "opendkim.conf")
	os.WriteFile(conf, []byte("Mode v\nTestDNSData file:"+dnsFile+"\nSyslog no\nRequireSafeKeys no\nMaximumSignaturesToVerify 5\n"), 0o600)
	// Its test mode reports on the top signature only: one copy per
	// signature, the other taken out (a DKIM-Signature signs no other).
	fields, rest := splitSignatures(relayed)
	if len(fields) != 2 {
		t.Fatalf("%d DKIM-Signature fields taken out of the relayed message", len(fields))
	}
	for i, f := range fields {
		msgFile := filepath.Join(dir, fmt.Sprintf("relayed%d.eml", i))
		os.WriteFile(msgFile, []byte(f+rest), 0o600)
		out, err := exec.Command(opendkim, "-x", conf, "-t", msgFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "succeeded") {
			t.Errorf("opendkim -t on the relayed message, signature %d: %v\n%s", i, err, out)
		}
	}
	tampered := strings.Replace(relayed, "this is signed.", "this is signed!", 1)
	if out := runPythonIn(t, tampered, dkimpyVerify, records...); strings.Count(out, "fail") != 2 {
		t.Errorf("dkimpy on the changed message: %q", out)
	}

	// Inbound: signed by dkimpy for a domain outside, by us (the relayed
	// message), and the relayed message changed.
	keyPEM := filepath.Join(dir, "outside.pem")
	if out, err := exec.Command("openssl", "genrsa", "-out", keyPEM, "2048").CombinedOutput(); err != nil {
		t.Fatalf("openssl genrsa: %v\n%s", err, out)
	}
	pub, err := exec.Command("sh", "-c", "openssl rsa -in "+keyPEM+" -pubout -outform DER 2>/dev/null | base64 -w0").Output()
	if err != nil {
		t.Fatal(err)
	}
	dns.TXT("py._domainkey.outside.example", "v=DKIM1; k=rsa; p="+string(pub))
	s.addUser("ann@sign.test")
	pyID := newMessageID("dkimin")
	pyMsg := message("sender@outside.example", "ann@sign.test", "from outside", pyID, "Signed by dkimpy.\n")
	pyMsg = runPythonIn(t, pyMsg, dkimpySign, "py", "outside.example", keyPEM) + pyMsg
	// The changed copy gets a Message-ID of its own to be found by (a
	// signed field: one more change).
	changedID, plainID := newMessageID("dkimbad"), newMessageID("plain")
	for _, c := range []struct {
		name, msgID, msg string
		want             []string // "result d", one per signature
	}{
		{"dkimpy", pyID, pyMsg, []string{"pass outside.example"}},
		{"ours, as relayed", id, relayed, []string{"pass sign.test", "pass sign.test"}},
		{"ours, changed", changedID, strings.Replace(tampered, id, changedID, 1), []string{"fail sign.test", "fail sign.test"}},
		{"unsigned", plainID, message("x@unsigned.example", "ann@sign.test", "plain", plainID, "Not signed.\n"), []string{"none "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := s.on(t)
			s.send("sender@outside.example", "ann@sign.test", c.msg, "--local-interface", "127.0.0.2")
			files := s.findMessage("ann@sign.test", c.msgID)
			if len(files) != 1 {
				t.Fatalf("%d copies of %s", len(files), c.msgID)
			}
			var ours []string
			for _, v := range files[0].Headers["Authentication-Results"] {
				if id, _, err := authres.Parse(v); err == nil && id == "mx.test.example" {
					ours = append(ours, v)
				}
			}
			if len(ours) != 1 {
				t.Fatalf("Authentication-Results of ours: %q", ours)
			}
			_, results, err := authres.Parse(ours[0])
			if err != nil {
				t.Fatalf("authres.Parse(%q): %v", ours[0], err)
			}
			var dkimRes []string
			for _, r := range results {
				if d, ok := r.(*authres.DKIMResult); ok {
					dkimRes = append(dkimRes, string(d.Value)+" "+d.Domain)
				}
			}
			if strings.Join(dkimRes, ",") != strings.Join(c.want, ",") {
				t.Errorf("dkim results %q, want %q in %q", dkimRes, c.want, ours[0])
			}
		})
	}
}

// splitSignatures takes the DKIM-Signature fields (with their line
// ends) out of a message.
func splitSignatures(msg string) (fields []string, rest string) {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	var keep []string
	lines := strings.SplitAfter(head+"\r\n", "\r\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(strings.ToLower(lines[i]), "dkim-signature:") {
			keep = append(keep, lines[i])
			continue
		}
		f := lines[i]
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			f += lines[i]
		}
		fields = append(fields, f)
	}
	return fields, strings.Join(keep, "") + "\r\n" + body
}

// TestDKIMTablesAndRotation: an OpenDKIM setup carried over as it is
// (a refile SigningTable, a KeyTable naming a key file opendkim-genkey's
// openssl made, beside a key of the database) signs mail from
// mynetworks as its tables say; `dkim rotate` with a short
// rotate_publish_delay switches the signing key when the delay is over,
// in the running server, and both keys' signatures verify with dkimpy.
func TestDKIMTablesAndRotation(t *testing.T) {
	requireDkimpy(t)
	k, port := startSink(t)
	dns := hermeticDNS(t, `
remote.test. MX 10 mx1.remote.test.
mx1.remote.test. A 127.0.0.2
`)
	dir := t.TempDir()
	keyPEM := filepath.Join(dir, "old.private")
	if out, err := exec.Command("openssl", "genrsa", "-traditional", "-out", keyPEM, "2048").CombinedOutput(); err != nil {
		t.Fatalf("openssl genrsa: %v\n%s", err, out)
	}
	pub, err := exec.Command("sh", "-c", "openssl rsa -in "+keyPEM+" -pubout -outform DER 2>/dev/null | base64 -w0").Output()
	if err != nil {
		t.Fatal(err)
	}
	legacyRec := "v=DKIM1; k=rsa; p=" + string(pub)
	dns.TXT("old._domainkey.legacy.test", legacyRec)
	os.WriteFile(filepath.Join(dir, "SigningTable"), []byte("*@legacy.test legacy\n*@rot.test rot\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "KeyTable"), []byte("legacy legacy.test:old:"+keyPEM+"\nrot rot.test\n"), 0o600)
	s := newServer(t, options{Resolvers: []string{dns.Addr()}, Extra: []string{
		"", "[outbound]", fmt.Sprintf("smtp_port = %d", port),
		"", "[dkim]",
		fmt.Sprintf("signing_table = %q", "refile:"+filepath.Join(dir, "SigningTable")),
		fmt.Sprintf("key_table = %q", filepath.Join(dir, "KeyTable")),
		`rotate_publish_delay = "10s"`,
	}})
	// The key table names rot.test's database key by selector.
	out := s.admin("dkim", "keygen", "rot.test", "--selector", "first")
	lines := strings.Split(out, "\n")
	dns.TXT(lines[0], lines[1])
	os.WriteFile(filepath.Join(dir, "KeyTable"), []byte("legacy legacy.test:old:"+keyPEM+"\nrot rot.test:first\n"), 0o600)
	s.start()
	records := []string{"old._domainkey.legacy.test " + legacyRec, strings.TrimSuffix(lines[0], ".") + " " + lines[1]}

	send := func(from string) string {
		t.Helper()
		before := len(k.received())
		id := newMessageID("tables")
		s.send(from, "friend@remote.test", message(from, "friend@remote.test", "tables", id, "Signed by the table.\n")) // from 127.0.0.1: mynetworks
		deadline := time.Now().Add(30 * time.Second)
		for len(k.received()) == before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		got := k.received()
		if len(got) != before+1 {
			t.Fatalf("the remote MX has %d messages, want %d; log:\n%s", len(got), before+1, s.Log())
		}
		return got[before].Data
	}
	sigTag := func(msg, tag string) []string {
		fields, _ := splitSignatures(msg)
		var out []string
		for _, f := range fields {
			for _, p := range strings.Split(strings.Join(strings.Fields(f), ""), ";") {
				if v, ok := strings.CutPrefix(p, tag+"="); ok {
					out = append(out, v)
				}
			}
		}
		return out
	}
	legacy := send("ops@legacy.test")
	if got := strings.Join(sigTag(legacy, "s"), ","); got != "old" {
		t.Errorf("legacy.test signed with selectors %q, want old (the key file)", got)
	}
	if out := runPythonIn(t, legacy, dkimpyVerify, records...); out != "pass\n" {
		t.Errorf("dkimpy on the key-file signature: %q", out)
	}
	first := send("ops@rot.test")
	if got := strings.Join(sigTag(first, "s"), ","); got != "first" {
		t.Errorf("rot.test signed with selectors %q, want first", got)
	}
	if out := runPythonIn(t, first, dkimpyVerify, records...); out != "pass\n" {
		t.Errorf("dkimpy on the database key's signature: %q", out)
	}
	// Rotation: the key table names "first" by its selector, so the
	// config goes back to the default (a domain signs with its active
	// keys) before rotating.
	os.WriteFile(filepath.Join(dir, "SigningTable"), []byte("*@legacy.test legacy\n"), 0o600)
	s.setOptions(options{Resolvers: []string{dns.Addr()}, Extra: []string{
		"", "[outbound]", fmt.Sprintf("smtp_port = %d", port),
		"", "[dkim]", `rotate_publish_delay = "10s"`,
	}})
	s.reload()
	out = s.admin("dkim", "rotate", "rot.test", "--selector", "second")
	lines = strings.Split(out, "\n")
	if lines[0] != "second._domainkey.rot.test." || !strings.Contains(out, "; first stops signing then") {
		t.Fatalf("dkim rotate printed:\n%s", out)
	}
	dns.TXT(lines[0], lines[1])
	records = append(records, strings.TrimSuffix(lines[0], ".")+" "+lines[1])
	if got := strings.Join(sigTag(send("ops@rot.test"), "s"), ","); got != "first" {
		t.Errorf("right after rotate: signed with %q, want first (the new key is only published)", got)
	}
	time.Sleep(10500 * time.Millisecond)
	after := send("ops@rot.test")
	if got := strings.Join(sigTag(after, "s"), ","); got != "second" {
		t.Errorf("after rotate_publish_delay: signed with %q, want second", got)
	}
	if out := runPythonIn(t, after, dkimpyVerify, records...); out != "pass\n" {
		t.Errorf("dkimpy on the rotated key's signature: %q", out)
	}
	if out := s.admin("dkim", "list"); !strings.Contains(out, "first") || !strings.Contains(out, "retired") {
		t.Errorf("dkim list after the switch:\n%s", out)
	}
}
