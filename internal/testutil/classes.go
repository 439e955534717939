package testutil

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ConnectionClasses floods the server at addr with 40 connections from
// 127.0.0.2-.14, expecting 20 to be greeted (a line starting with ok),
// then reports whether clients from 127.0.0.99 (the flood's /24),
// 127.0.1.99 (another /24) and 127.0.0.1 are greeted, against want. The
// server's limits must be set so that the flood gets exactly 20 slots.
func ConnectionClasses(t *testing.T, addr, ok string, want [3]bool) {
	t.Helper()
	greet := func(src string) string {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(conn).ReadString('\n')
		return l
	}
	admitted := 0
	for i := range 40 {
		if strings.HasPrefix(greet("127.0.0."+strconv.Itoa(2+i%13)), ok) {
			admitted++
		}
	}
	if admitted != 20 {
		t.Fatalf("%d of 40 flood connections admitted, want 20", admitted)
	}
	for i, src := range []string{"127.0.0.99", "127.0.1.99", "127.0.0.1"} {
		if got := strings.HasPrefix(greet(src), ok); got != want[i] {
			t.Errorf("client %s admitted=%v, want %v", src, got, want[i])
		}
	}
}
