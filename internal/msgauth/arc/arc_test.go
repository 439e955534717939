package arc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/dnsx"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSA(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

// keyRecord is the DKIM TXT record of key's public half.
func keyRecord(t testing.TB, key crypto.Signer) string {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	t.Fatalf("key %T", key)
	return ""
}

// zone is a TXT lookup from a map; a value "TEMP" fails temporarily.
type zone map[string]string

func (z zone) lookup(_ context.Context, name string) ([]string, error) {
	v, ok := z[strings.ToLower(name)]
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %w", name, dnsx.ErrNotFound)
	case v == "TEMP":
		return nil, fmt.Errorf("%s: %w", name, dnsx.ErrTemporary)
	}
	return []string{v}, nil
}

const testMsg = "Received: from a.example by b.example; Thu, 3 Dec 2026 10:00:00 +0000\r\n" +
	"From: Alice <alice@a.example>\r\n" +
	"To: bob@b.example\r\n" +
	"Subject: hello  there\r\n" +
	"Date: Thu, 3 Dec 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@a.example>\r\n" +
	"\r\n" +
	"Hello Bob,  \r\n" +
	"\r\n" +
	"see you.\r\n\r\n\r\n"

// seal adds a set to msg as forwarder d (selector s) after verifying.
func seal(t *testing.T, z zone, msg string, d string, key crypto.Signer) string {
	t.Helper()
	res, err := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	s := &Sealer{Domain: d, Selector: "arc", Key: key, Now: func() time.Time { return time.Unix(1764756000, 0) }}
	fields, err := s.Seal(strings.NewReader(msg), res, "mx."+d, "\r\n\tspf=pass smtp.mailfrom=a.example;\r\n\tarc="+string(res.Status))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if len(fields) != 3 || !strings.HasPrefix(fields[0], "ARC-Seal: ") || !strings.HasPrefix(fields[1], "ARC-Message-Signature: ") ||
		!strings.HasPrefix(fields[2], "ARC-Authentication-Results: ") {
		t.Fatalf("Seal fields: %q", fields)
	}
	return strings.Join(fields, "\r\n") + "\r\n" + msg
}

func verify(t *testing.T, z zone, msg string) *Result {
	t.Helper()
	res, err := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSealVerify(t *testing.T) {
	ed := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	z := zone{
		"arc._domainkey.fwd1.example": keyRecord(t, testRSA(t)),
		"arc._domainkey.fwd2.example": keyRecord(t, ed),
	}
	if r := verify(t, z, testMsg); r.Status != None || r.Instances != 0 {
		t.Fatalf("no chain: %+v", r)
	}
	one := seal(t, z, testMsg, "fwd1.example", testRSA(t))
	r := verify(t, z, one)
	if r.Status != Pass || r.Instances != 1 || len(r.Sealers) != 1 || r.Sealers[0] != "fwd1.example" || r.OldestPass != 0 {
		t.Fatalf("one set: %+v", r)
	}
	if !strings.HasPrefix(r.OldestAAR, "mx.fwd1.example;") || !strings.Contains(r.OldestAAR, "spf=pass smtp.mailfrom=a.example") {
		t.Fatalf("OldestAAR %q", r.OldestAAR)
	}
	if !strings.Contains(one, "cv=none") {
		t.Fatalf("first seal not cv=none:\n%s", one)
	}
	two := seal(t, z, one, "fwd2.example", ed)
	r = verify(t, z, two)
	if r.Status != Pass || r.Instances != 2 || strings.Join(r.Sealers, ",") != "fwd1.example,fwd2.example" {
		t.Fatalf("two sets: %+v", r)
	}
	if !strings.Contains(two, "i=2; a=ed25519-sha256; t=1764756000; cv=pass") {
		t.Fatalf("second seal:\n%s", two)
	}
	// A forwarder that changes the body after the first seal: its own
	// AMS holds, the first does not (oldest-pass 2), the chain passes.
	// (A mailing list: it validates the chain as it comes in, adds a
	// footer, then seals with what it validated.)
	changed := strings.Replace(one, "see you.", "see you!", 1)
	fields, err := (&Sealer{Domain: "fwd2.example", Selector: "arc", Key: ed}).Seal(strings.NewReader(changed), verify(t, z, one), "mx", " none")
	if err != nil {
		t.Fatal(err)
	}
	three := strings.Join(fields, "\r\n") + "\r\n" + changed
	if r = verify(t, z, three); r.Status != Pass || r.OldestPass != 2 {
		t.Fatalf("changed then sealed: %+v", r)
	}

	for _, c := range []struct {
		name, msg string
		z         zone
		want      Status
		reason    string
	}{
		{"body changed", strings.Replace(two, "see you.", "see you!", 1), z, Fail, "body hash"},
		{"subject changed", strings.Replace(two, "hello  there", "hello", 1), z, Fail, "ARC-Message-Signature i=2"},
		{"whitespace only (relaxed)", strings.Replace(two, "hello  there", "hello \t there", 1), z, Pass, ""},
		{"seal 1 changed", strings.Replace(two, "i=1; mx.fwd1.example;", "i=1; mx.fwd9.example;", 1), z, Fail, "ARC-Seal i=2"},
		{"set 2 removed", one + "", z, Pass, ""},
		{"no key", two, zone{"arc._domainkey.fwd1.example": keyRecord(t, testRSA(t))}, Fail, "no key"},
		{"key temp", two, zone{"arc._domainkey.fwd1.example": "TEMP", "arc._domainkey.fwd2.example": keyRecord(t, ed)}, TempError, "temporarily"},
		{"revoked", two, zone{"arc._domainkey.fwd1.example": "v=DKIM1; p=", "arc._domainkey.fwd2.example": keyRecord(t, ed)}, Fail, "revoked"},
		{"wrong key type", two, zone{"arc._domainkey.fwd1.example": keyRecord(t, testRSA(t)), "arc._domainkey.fwd2.example": keyRecord(t, testRSA(t))}, Fail, "key type"},
		{"duplicate AAR", "ARC-Authentication-Results: i=1; x; none\r\n" + one, z, Fail, "two ARC-Authentication-Results"},
		{"gap", strings.ReplaceAll(one, "i=1;", "i=2;"), z, Fail, "no ARC set with i=1"},
		{"incomplete", strings.Replace(one, "ARC-Seal:", "X-Seal:", 1), z, Fail, "incomplete"},
		{"bad instance", strings.Replace(one, "ARC-Seal: i=1", "ARC-Seal: i=51", 1), z, Fail, "instance"},
		{"cv=fail latest", strings.Replace(one, "cv=none", "cv=fail", 1), z, Fail, "cv=fail"},
		{"cv=pass on 1", strings.Replace(one, "cv=none", "cv=pass", 1), z, Fail, "cv=pass, not none"},
	} {
		r := verify(t, c.z, c.msg)
		if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: %s (%s), want %s (%s)", c.name, r.Status, r.Reason, c.want, c.reason)
		}
	}
}

func TestSealFailedChain(t *testing.T) {
	z := zone{"arc._domainkey.fwd1.example": keyRecord(t, testRSA(t))}
	one := seal(t, z, testMsg, "fwd1.example", testRSA(t))
	broken := strings.Replace(one, "see you.", "see you!", 1)
	// The next hop finds the chain failed, seals with cv=fail: its seal
	// covers only its own set, and the chain stays failed.
	two := seal(t, z, broken, "fwd1.example", testRSA(t))
	if !strings.Contains(two, "i=2; a=rsa-sha256; t=1764756000; cv=fail") {
		t.Fatalf("seal of a failed chain:\n%s", two)
	}
	if r := verify(t, z, two); r.Status != Fail || !strings.Contains(r.Reason, "cv=fail") {
		t.Fatalf("verify after cv=fail: %+v", r)
	}
	// Nobody seals after a cv=fail.
	res := verify(t, z, two)
	_, err := (&Sealer{Domain: "fwd1.example", Selector: "arc", Key: testRSA(t)}).Seal(strings.NewReader(two), res, "mx", " none")
	if err == nil || !strings.Contains(err.Error(), "already failed") {
		t.Fatalf("seal after cv=fail: %v", err)
	}
	// Nor when the chain could not be validated.
	_, err = (&Sealer{Domain: "fwd1.example", Selector: "arc", Key: testRSA(t)}).Seal(strings.NewReader(one), &Result{Status: TempError, Instances: 1}, "mx", " none")
	if err == nil {
		t.Fatal("seal of an unvalidated chain")
	}
}

func TestTooManySets(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= MaxInstances+1; i++ {
		fmt.Fprintf(&b, "ARC-Seal: i=%d; a=rsa-sha256; cv=pass; d=x.example; s=s; b=YQ==\r\n", i)
	}
	r := verify(t, zone{}, b.String()+testMsg)
	if r.Status != Fail {
		t.Fatalf("%d sets: %+v", MaxInstances+1, r)
	}
}

// TestMaxKeys: a chain signed under more keys than MaxKeys fails
// without asking DNS for the rest.
func TestMaxKeys(t *testing.T) {
	z := zone{}
	msg := testMsg
	for i := 1; i <= MaxKeys/2+1; i++ {
		d := fmt.Sprintf("hop%d.example", i)
		z["arc._domainkey."+d] = keyRecord(t, testRSA(t))
		msg = seal(t, z, msg, d, testRSA(t))
	}
	// Each hop has its own domain: one key each, under the cap.
	if r := verify(t, z, msg); r.Status != Pass {
		t.Fatalf("%d hops: %+v", MaxKeys/2+1, r)
	}
	for i := MaxKeys/2 + 2; i <= MaxKeys+1; i++ {
		d := fmt.Sprintf("hop%d.example", i)
		z["arc._domainkey."+d] = keyRecord(t, testRSA(t))
		msg = seal(t, z, msg, d, testRSA(t))
	}
	if r := verify(t, z, msg); r.Status != Fail || !strings.Contains(r.Reason, "signing keys") {
		t.Fatalf("%d hops: %+v", MaxKeys+1, r)
	}
}

func FuzzVerify(f *testing.F) {
	z := zone{"arc._domainkey.fwd1.example": keyRecord(f, testRSA(f))}
	s := &Sealer{Domain: "fwd1.example", Selector: "arc", Key: testRSA(f)}
	fields, err := s.Seal(strings.NewReader(testMsg), &Result{Status: None}, "mx", " none")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(strings.Join(fields, "\r\n") + "\r\n" + testMsg)
	f.Add(testMsg)
	f.Add("ARC-Seal: i=1; cv=none\r\nARC-Message-Signature: i=1;\r\nARC-Authentication-Results: i=1; x; none\r\n\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		r, err := (&Verifier{Lookup: z.lookup}).Verify(context.Background(), strings.NewReader(msg))
		if err != nil {
			return
		}
		switch r.Status {
		case None, Pass, Fail, TempError:
		default:
			t.Fatalf("status %q", r.Status)
		}
		if r.Status == Pass && (r.Instances == 0 || len(r.Sealers) != r.Instances) {
			t.Fatalf("pass with %+v", r)
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	f.Add("i=1; a=rsa-sha256; c=relaxed/relaxed; d=x.example; s=s; h=from:to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=YQ==", false)
	f.Add("i=1; a=ed25519-sha256; cv=none; d=x.example; s=s; t=1; b=YQ==", true)
	f.Fuzz(func(t *testing.T, v string, seal bool) {
		s, err := parseSignature(v, seal)
		if err != nil {
			return
		}
		if s.instance < 1 || s.instance > MaxInstances || len(s.sig) == 0 {
			t.Fatalf("parsed %q to %+v", v, s)
		}
	})
}
