package dkim

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/dnsx/dnstest"
)

// Interop with the two DKIM implementations admins know: OpenDKIM
// (Debian opendkim: the filter's test mode -t, which reads keys from a
// TestDNSData file instead of DNS, and opendkim-testmsg) and dkimpy
// (Debian python3-dkim). Each signs and Mailwarden verifies, Mailwarden
// signs and each verifies, and a changed body or header fails
// everywhere.

// needTool returns the path of a peer program, skipping (failing under
// CI=true) when it is not installed.
func needTool(t *testing.T, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if filepath.IsAbs(p) {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		} else if lp, err := exec.LookPath(p); err == nil {
			return lp
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (scripts/test.sh installs opendkim, opendkim-tools and python3-dkim)", paths[0])
	}
	t.Skipf("%s is not installed (apt-get install opendkim opendkim-tools python3-dkim)", paths[0])
	return ""
}

// python runs a dkimpy script with Debian's interpreter; args follow.
func python(t *testing.T, script string, args ...string) (string, error) {
	t.Helper()
	py := needTool(t, "/usr/bin/python3")
	if err := exec.Command(py, "-c", "import dkim").Run(); err != nil {
		needTool(t, "/usr/lib/python3/dist-packages/dkim/__init__.py")
	}
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).CombinedOutput()
	return string(out), err
}

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// modifications a verifier must notice.
var tampered = []struct {
	name   string
	change func(string) string
}{
	{"body", func(m string) string { return strings.Replace(m, "figures are", "figures were", 1) }},
	{"subject", func(m string) string { return strings.Replace(m, "quarterly figures", "quarterly results", 1) }},
}

// dkimpy's signer: argv message file, domain, then one
// "selector|keyfile|algorithm|canonicalization[|l]" per signature to
// make (l: with a body length tag l=); the DKIM-Signature fields are
// printed, each followed by a NUL.
const dkimpySign = `
import sys, dkim
msg = open(sys.argv[1], 'rb').read()
for spec in sys.argv[3:]:
    sel, keyfile, algo, canon, *rest = spec.split('|')
    sig = dkim.sign(msg, sel.encode(), sys.argv[2].encode(), open(keyfile, 'rb').read(),
        canonicalize=tuple(c.encode() for c in canon.split('/')),
        signature_algorithm=algo.encode(), linesep=b'\r\n', length=rest == ['l'])
    sys.stdout.write(sig.decode() + '\0')
`

// dkimpy's verifier: argv "name record" pairs served as DNS, "--", then
// message files; prints a line per message: pass or fail per signature.
const dkimpyVerify = `
import sys, dkim
args = sys.argv[1:]
sep = args.index('--')
recs = {}
for a in args[:sep]:
    n, r = a.split(' ', 1)
    recs[n.encode()] = r.encode()
def dns(name, timeout=5):
    return recs.get(name.rstrip(b'.'), None)
for f in args[sep+1:]:
    d = dkim.DKIM(open(f, 'rb').read())
    n = len([h for h in d.headers if h[0].lower() == b'dkim-signature'])
    res = []
    for i in range(n):
        try:
            res.append('pass' if d.verify(idx=i, dnsfunc=dns) else 'fail')
        except dkim.ValidationError:
            res.append('fail')
    print(' '.join(res))
`

// dkimpySigned has dkimpy sign testMessage three ways (rsa relaxed,
// rsa simple, ed25519), with l= when withLength, and returns a verifier
// that finds the keys, each signature's algorithm and canonicalization,
// and the DKIM-Signature fields.
func dkimpySigned(t *testing.T, withLength bool) (v *Verifier, cases []struct{ algo, canon string }, fields []string) {
	rsaKey, edKey := keys(t)
	dir := t.TempDir()
	rsaPEM, _ := EncodePrivateKey(rsaKey)
	rsaFile := writeFile(t, dir, "rsa.pem", rsaPEM)
	// dknewkey's Ed25519 private key: the base64 of the 32-byte seed.
	edFile := writeFile(t, dir, "ed.key", base64.StdEncoding.EncodeToString(edKey.(ed25519.PrivateKey).Seed()))
	msgFile := writeFile(t, dir, "msg.eml", testMessage)
	dns := dnstest.New(t, "")
	publish(t, dns, "py", "example.com", rsaKey, "")
	publish(t, dns, "pyed", "example.com", edKey, "")
	v = NewVerifier(dns.Resolver(), nil, VerifyConfig{})
	specs := []struct{ sel, key, algo, canon string }{
		{"py", rsaFile, "rsa-sha256", "relaxed/relaxed"},
		{"py", rsaFile, "rsa-sha256", "simple/simple"},
		{"pyed", edFile, "ed25519-sha256", "relaxed/simple"},
	}
	args := []string{msgFile, "example.com"}
	for _, c := range specs {
		spec := c.sel + "|" + c.key + "|" + c.algo + "|" + c.canon
		if withLength {
			spec += "|l"
		}
		args = append(args, spec)
		cases = append(cases, struct{ algo, canon string }{c.algo, c.canon})
	}
	out, err := python(t, dkimpySign, args...)
	fields = strings.Split(out, "\x00")
	if err != nil || len(fields) != len(specs)+1 {
		t.Fatalf("dkimpy sign: %v\n%s", err, out)
	}
	for i, c := range specs {
		if !strings.HasPrefix(fields[i], "DKIM-Signature:") || withLength != strings.Contains(fields[i], "l=") {
			t.Fatalf("dkimpy sign %s (l= %v): %q", c.algo, withLength, fields[i])
		}
	}
	return v, cases, fields[:len(specs)]
}

func TestInteropDkimpySigns(t *testing.T) {
	v, cases, fields := dkimpySigned(t, false)
	for i, c := range cases {
		msg := fields[i] + testMessage
		if rs := verifyAll(t, v, msg); results(rs) != "pass" || rs[0].Prop("header", "a") != c.algo {
			t.Errorf("dkimpy %s %s: %+v", c.algo, c.canon, rs)
		}
		for _, tm := range tampered {
			if rs := verifyAll(t, v, tm.change(msg)); results(rs) != "fail" {
				t.Errorf("dkimpy %s %s, %s changed: %+v", c.algo, c.canon, tm.name, rs)
			}
		}
	}
}

// dkimpy signs with a body length limit l= (RFC 6376 3.5), which
// go-msgauth refuses and Mailwarden verifies itself: the signed message
// passes; a footer added after the signed length leaves the signature
// valid but the footer unsigned, so the result is policy, not pass; a
// change inside the signed part fails.
func TestInteropDkimpySignsBodyLength(t *testing.T) {
	v, cases, fields := dkimpySigned(t, true)
	footer := "--\r\nList footer: unsubscribe at https://lists.example/\r\n"
	for i, c := range cases {
		msg := fields[i] + testMessage
		if rs := verifyAll(t, v, msg); results(rs) != "pass" || !strings.Contains(rs[0].Comment, "l= covers the whole body") {
			t.Errorf("dkimpy l= %s %s: %+v", c.algo, c.canon, rs)
		}
		if rs := verifyAll(t, v, msg+footer); results(rs) != "policy" || !strings.Contains(rs[0].Reason, "unsigned") {
			t.Errorf("dkimpy l= %s %s with a footer: %+v", c.algo, c.canon, rs)
		}
		for _, tm := range tampered {
			if rs := verifyAll(t, v, tm.change(msg)); results(rs) != "fail" {
				t.Errorf("dkimpy l= %s %s, %s changed: %+v", c.algo, c.canon, tm.name, rs)
			}
		}
		// A body cut shorter than l= fails (RFC 6376 6.1.3).
		cut := msg[:strings.Index(msg, "\r\n\r\n")+4] + "short\r\n"
		if rs := verifyAll(t, v, cut); results(rs) == "pass" || results(rs) == "policy" {
			t.Errorf("dkimpy l= %s %s, body shorter than l=: %+v", c.algo, c.canon, rs)
		}
	}
}

func TestInteropWeSignDkimpyVerifies(t *testing.T) {
	rsaKey, edKey := keys(t)
	dir := t.TempDir()
	var recs []string
	for _, k := range []struct {
		sel    string
		signer crypto.Signer
	}{{"r1", rsaKey}, {"e1", edKey}} {
		a, _ := algorithmOf(k.signer)
		p, _ := PublicValue(k.signer)
		recs = append(recs, k.sel+"._domainkey.example.com "+Record(a, p))
	}
	// One dkimpy run verifies every message: each signed with both keys.
	args := append(recs, "--")
	var want []string
	for i, canon := range []string{"relaxed/relaxed", "simple/simple"} {
		fields := sign(t, testMessage, SignConfig{Canonicalization: canon, Oversign: DefaultOversignHeaders},
			SigningKey{Domain: "example.com", Selector: "r1", Signer: rsaKey},
			SigningKey{Domain: "example.com", Selector: "e1", Signer: edKey})
		msg := signed(fields, testMessage)
		args = append(args, writeFile(t, dir, fmt.Sprintf("%d.eml", i), msg))
		want = append(want, canon+": pass pass")
		for _, tm := range tampered {
			args = append(args, writeFile(t, dir, fmt.Sprintf("%d-%s.eml", i, tm.name), tm.change(msg)))
			want = append(want, canon+", "+tm.name+" changed: fail fail")
		}
	}
	out, err := python(t, dkimpyVerify, args...)
	if err != nil {
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("dkimpy printed %q for %d messages", out, len(want))
	}
	for i, w := range want {
		label, verdict, _ := strings.Cut(w, ": ")
		if lines[i] != verdict {
			t.Errorf("dkimpy on our signatures, %s: %q, want %q", label, lines[i], verdict)
		}
	}
}

// openDKIMConf writes an opendkim.conf for the filter's test mode.
func openDKIMConf(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	// Syslog off; the temp dir is under /tmp, which OpenDKIM would
	// otherwise refuse to read keys below.
	return writeFile(t, dir, name, strings.Join(append(lines, "Syslog no", "RequireSafeKeys no"), "\n")+"\n")
}

// openDKIMSign signs the message file with `opendkim -t` and returns
// the message with its DKIM-Signature field.
func openDKIMSign(t *testing.T, opendkim, conf, msgFile string) string {
	t.Helper()
	out, err := exec.Command(opendkim, "-x", conf, "-t", msgFile).CombinedOutput()
	if err != nil {
		t.Fatalf("opendkim -t: %v\n%s", err, out)
	}
	// "opendkim: FILE:" then the fields it would add.
	_, fields, ok := strings.Cut(string(out), ":\n")
	if !ok || !strings.HasPrefix(fields, "DKIM-Signature:") {
		t.Fatalf("opendkim -t printed %q", out)
	}
	fields = strings.ReplaceAll(strings.ReplaceAll(fields, "\r\n", "\n"), "\n", "\r\n")
	return fields + testMessage
}

func TestInteropOpenDKIMSigns(t *testing.T) {
	opendkim := needTool(t, "opendkim", "/usr/sbin/opendkim")
	rsaKey, edKey := keys(t)
	dir := t.TempDir()
	rsaPEM, _ := EncodePrivateKey(rsaKey)
	edPEM, _ := EncodePrivateKey(edKey)
	rsaFile := writeFile(t, dir, "rsa.pem", rsaPEM)
	edFile := writeFile(t, dir, "ed.pem", edPEM)
	msgFile := writeFile(t, dir, "msg.eml", testMessage)
	dns := dnstest.New(t, "")
	publish(t, dns, "od", "example.com", rsaKey, "")
	publish(t, dns, "oded", "example.com", edKey, "")
	v := NewVerifier(dns.Resolver(), nil, VerifyConfig{})
	for _, c := range []struct{ sel, key, algo, canon string }{
		{"od", rsaFile, "rsa-sha256", "relaxed/relaxed"},
		{"od", rsaFile, "rsa-sha256", "simple/simple"},
		{"oded", edFile, "ed25519-sha256", "relaxed/simple"},
	} {
		conf := openDKIMConf(t, dir, "sign.conf", "Mode s", "Domain example.com", "Selector "+c.sel, "KeyFile "+c.key,
			"SignatureAlgorithm "+c.algo, "Canonicalization "+c.canon, "OversignHeaders From")
		msg := openDKIMSign(t, opendkim, conf, msgFile)
		if rs := verifyAll(t, v, msg); results(rs) != "pass" || rs[0].Prop("header", "a") != c.algo || rs[0].Prop("header", "s") != c.sel {
			t.Errorf("OpenDKIM %s %s: %+v\n%s", c.algo, c.canon, rs, msg)
		}
		for _, tm := range tampered {
			if rs := verifyAll(t, v, tm.change(msg)); results(rs) != "fail" {
				t.Errorf("OpenDKIM %s %s, %s changed: %+v", c.algo, c.canon, tm.name, rs)
			}
		}
	}
	// opendkim-testmsg signs with rsa-sha1: RFC 8301 says not to accept
	// it, so the result is policy however good the signature.
	testmsg := needTool(t, "opendkim-testmsg", "/usr/sbin/opendkim-testmsg")
	cmd := exec.Command(testmsg, "-C", "-d", "example.com", "-s", "od", "-k", rsaFile)
	cmd.Stdin = strings.NewReader(testMessage)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("opendkim-testmsg: %v", err)
	}
	msg := strings.ReplaceAll(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n", "\r\n")
	rs := verifyAll(t, v, msg)
	if results(rs) != "policy" || rs[0].Prop("header", "a") != "rsa-sha1" || !strings.Contains(rs[0].Reason, "RFC 8301") {
		t.Errorf("rsa-sha1 from opendkim-testmsg: %+v\n%s", rs, msg)
	}
}

func TestInteropWeSignOpenDKIMVerifies(t *testing.T) {
	opendkim := needTool(t, "opendkim", "/usr/sbin/opendkim")
	rsaKey, edKey := keys(t)
	dir := t.TempDir()
	var dnsData strings.Builder
	for _, k := range []struct {
		sel    string
		signer crypto.Signer
	}{{"r1", rsaKey}, {"e1", edKey}} {
		a, _ := algorithmOf(k.signer)
		p, _ := PublicValue(k.signer)
		dnsData.WriteString(k.sel + "._domainkey.example.com " + Record(a, p) + "\n")
	}
	// TestDNSData: OpenDKIM takes these names' TXT records from the file.
	conf := openDKIMConf(t, dir, "verify.conf", "Mode v", "TestDNSData file:"+writeFile(t, dir, "dns.txt", dnsData.String()))
	verify := func(msg string) string {
		out, _ := exec.Command(opendkim, "-x", conf, "-t", writeFile(t, dir, "m.eml", msg)).CombinedOutput()
		return string(out)
	}
	for _, canon := range []string{"relaxed/relaxed", "simple/simple"} {
		for _, k := range []SigningKey{
			{Domain: "example.com", Selector: "r1", Signer: rsaKey},
			{Domain: "example.com", Selector: "e1", Signer: edKey},
		} {
			fields := sign(t, testMessage, SignConfig{Canonicalization: canon, Oversign: DefaultOversignHeaders}, k)
			msg := signed(fields, testMessage)
			if out := verify(msg); !strings.Contains(out, "s="+k.Selector) || !strings.Contains(out, "succeeded") {
				t.Errorf("OpenDKIM verifies our %s %s signature: %s", k.algo(), canon, out)
			}
			for _, tm := range tampered {
				if out := verify(tm.change(msg)); !strings.Contains(out, "failed") {
					t.Errorf("OpenDKIM, %s changed after our %s %s signature: %s", tm.name, k.algo(), canon, out)
				}
			}
		}
	}
}
