package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailwarden/internal/dnsx/dnstest"
)

// hermeticDNS serves zone on port 53 of a free loopback address
// (127.53.x.y), since Postfix resolves through libc, which knows no other
// port. Mailwarden can use the same server through [dns] resolvers.
func hermeticDNS(t *testing.T, zone string) *dnstest.Server {
	t.Helper()
	return dnstest.NewAt(t, freePort53(t), zone)
}

// freePort53 finds a 127.53.x.y:53 free for UDP and TCP.
func freePort53(t *testing.T) string {
	t.Helper()
	for range 50 {
		addr := fmt.Sprintf("127.53.%d.%d:53", rand.IntN(254)+1, rand.IntN(254)+1)
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		pc.Close()
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free 127.53.x.y:53 for a test DNS server")
	return ""
}

// deadDNS is a DNS server that never answers: a UDP socket on
// 127.53.x.y:53 that reads queries and drops them, so every lookup
// times out (both resolvers use TCP only after a truncated UDP answer).
func deadDNS(t *testing.T) string {
	t.Helper()
	addr := freePort53(t)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return addr
}

// startPostfixWithDNS is startPostfixWith for a Postfix that resolves
// names through dns (DNSBLs, PTR, MX...): its master runs in a private
// mount namespace (unshare --mount, as root) where a resolv.conf naming
// only dnsAddr (host:53, see hermeticDNS) is bind-mounted over /etc/resolv.conf; the real file is never
// changed. It also turns smtpd_peername_lookup on.
func startPostfixWithDNS(t *testing.T, mainCf, dnsAddr string, locals ...string) *privatePostfix {
	t.Helper()
	requireTool(t, "unshare")
	host, port, err := net.SplitHostPort(dnsAddr)
	if err != nil || port != "53" {
		t.Fatalf("Postfix resolves through port 53 only, not %q", dnsAddr)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // read by Postfix's daemons as postfix
		t.Fatal(err)
	}
	resolv := filepath.Join(dir, "resolv.conf")
	writeFile(t, resolv, "nameserver "+host+"\noptions attempts:1 timeout:2\n")
	if err := os.Chmod(resolv, 0o644); err != nil {
		t.Fatal(err)
	}
	return startPostfixResolv(t, "smtpd_peername_lookup = yes\n"+strings.TrimSpace(mainCf)+"\n", resolv, locals...)
}
