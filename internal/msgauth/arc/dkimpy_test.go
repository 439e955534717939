package arc

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dkimpy drives Python's dkimpy (Debian python3-dkim: the library behind
// its arcsign and arcverify) with keys served from a map instead of DNS.
const dkimpyScript = `
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

type dkimpy struct {
	dir    string
	script string
	zone   string
}

func newDkimpy(t *testing.T, z zone) *dkimpy {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim, authres").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dkimpy missing (Debian python3-dkim): %v", err)
		}
		t.Skipf("dkimpy missing (Debian python3-dkim): %v", err)
	}
	d := &dkimpy{dir: t.TempDir()}
	d.script = filepath.Join(d.dir, "arc.py")
	d.zone = filepath.Join(d.dir, "zone.json")
	zj, _ := json.Marshal(z)
	if err := os.WriteFile(d.script, []byte(dkimpyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.zone, zj, 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *dkimpy) run(t *testing.T, msg string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{d.script}, args...)...)
	cmd.Stdin = strings.NewReader(msg)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("dkimpy %s: %v\n%s", args[0], err, errb.String())
	}
	return out.String()
}

func (d *dkimpy) verify(t *testing.T, msg string) string {
	return strings.TrimSpace(d.run(t, msg, "verify", d.zone))
}

func TestDkimpyVerifiesOurSeals(t *testing.T) {
	// dkimpy's ARC knows rsa-sha256 only ("unknown signature algorithm:
	// ed25519-sha256"): seals meant for others are RSA.
	z := zone{
		"arc._domainkey.fwd1.example": keyRecord(t, testRSA(t)),
		"arc._domainkey.fwd2.example": keyRecord(t, testRSA(t)),
	}
	py := newDkimpy(t, z)
	one := seal(t, z, testMsg, "fwd1.example", testRSA(t))
	if got := py.verify(t, one); got != "pass success" {
		t.Fatalf("dkimpy on our rsa seal: %s\n%s", got, one)
	}
	two := seal(t, z, one, "fwd2.example", testRSA(t))
	if got := py.verify(t, two); got != "pass success" {
		t.Fatalf("dkimpy on our second seal: %s\n%s", got, two)
	}
	broken := strings.Replace(two, "see you.", "see you!", 1)
	if got := py.verify(t, broken); !strings.HasPrefix(got, "fail") {
		t.Fatalf("dkimpy on a changed body: %s", got)
	}
	if r := verify(t, z, broken); r.Status != Fail {
		t.Fatalf("we on a changed body: %+v", r)
	}
	// The set we add over a failed chain says cv=fail, for both.
	failed := seal(t, z, broken, "fwd1.example", testRSA(t))
	// (dkimpy says None, "the chain is terminated", for a latest cv=fail.)
	if got := py.verify(t, failed); !strings.HasPrefix(got, "fail") && !strings.Contains(got, "reported failure") {
		t.Fatalf("dkimpy on cv=fail: %s", got)
	}
}

func TestWeVerifyDkimpySeals(t *testing.T) {
	z := zone{"sel._domainkey.list.example": keyRecord(t, testRSA(t)),
		"arc._domainkey.fwd1.example": keyRecord(t, testRSA(t))}
	py := newDkimpy(t, z)
	keyFile := filepath.Join(py.dir, "key.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testRSA(t))})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	in := "Authentication-Results: mx.list.example; spf=pass smtp.mailfrom=a.example\r\n" + testMsg
	one := py.run(t, in, "sign", py.zone, "sel", "list.example", keyFile, "mx.list.example")
	r := verify(t, z, one)
	if r.Status != Pass || strings.Join(r.Sealers, ",") != "list.example" {
		t.Fatalf("dkimpy's seal: %+v\n%s", r, one)
	}
	// dkimpy seals over our set, we over dkimpy's.
	two := py.run(t, "Authentication-Results: mx.list.example; arc=pass\r\n"+seal(t, z, testMsg, "fwd1.example", testRSA(t)),
		"sign", py.zone, "sel", "list.example", keyFile, "mx.list.example")
	if r := verify(t, z, two); r.Status != Pass || strings.Join(r.Sealers, ",") != "fwd1.example,list.example" {
		t.Fatalf("dkimpy over ours: %+v\n%s", r, two)
	}
	three := seal(t, z, one, "fwd1.example", testRSA(t))
	if r := verify(t, z, three); r.Status != Pass || r.Instances != 2 {
		t.Fatalf("ours over dkimpy's: %+v", r)
	}
	if got := py.verify(t, three); got != "pass success" {
		t.Fatalf("dkimpy on ours over dkimpy's: %s", got)
	}
	broken := strings.Replace(one, "Hello Bob", "Hello Eve", 1)
	if r := verify(t, z, broken); r.Status != Fail || !strings.Contains(r.Reason, "body hash") {
		t.Fatalf("dkimpy's seal, body changed: %+v", r)
	}
	if got := py.verify(t, broken); !strings.HasPrefix(got, "fail") {
		t.Fatalf("dkimpy on its own changed seal: %s", got)
	}
}
