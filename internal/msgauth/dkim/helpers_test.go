package dkim

import (
	"context"
	"crypto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailwarden/internal/dnsx/dnstest"
	"mailwarden/internal/sqldb"
)

// clock is a settable time for store tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStore(t testing.TB) (*Store, *clock, *sqldb.DB) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	return NewStore(db, c.now), c, db
}

// testKeys are made once: RSA generation is slow.
var testKeys = struct {
	once     sync.Once
	rsa, ed  crypto.Signer
	rsa1024  crypto.Signer
	rsaOther crypto.Signer
}{}

func keys(t testing.TB) (rsaKey, edKey crypto.Signer) {
	testKeys.once.Do(func() {
		var err error
		if testKeys.rsa, err = RSA2048.Generate(); err != nil {
			panic(err)
		}
		if testKeys.ed, err = Ed25519.Generate(); err != nil {
			panic(err)
		}
		if testKeys.rsaOther, err = RSA2048.Generate(); err != nil {
			panic(err)
		}
	})
	return testKeys.rsa, testKeys.ed
}

// publish puts a key's record into the test DNS.
func publish(t testing.TB, s *dnstest.Server, selector, domain string, k crypto.Signer, extra string) {
	t.Helper()
	a, err := algorithmOf(k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PublicValue(k)
	if err != nil {
		t.Fatal(err)
	}
	rec := Record(a, p)
	if extra != "" {
		rec += "; " + extra
	}
	s.TXT(selector+"._domainkey."+domain, rec)
}

const testMessage = "From: Alice <alice@example.com>\r\n" +
	"To: bob@example.net\r\n" +
	"Subject: quarterly figures\r\n" +
	"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n" +
	"Message-ID: <20261203120000.1@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Received: from x by y; Thu, 03 Dec 2026 12:00:00 +0000\r\n" +
	"\r\n" +
	"Hello Bob,\r\n\r\nthe figures are attached.  \r\n\r\n\r\n"

// signed prepends the fields to msg.
func signed(fields []string, msg string) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	return b.String() + msg
}
