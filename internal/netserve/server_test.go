package netserve

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestAddrOf(t *testing.T) {
	for _, tc := range []struct {
		in   net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 1}, "192.0.2.1"},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, "2001:db8::1"},
		{&net.UnixAddr{Name: "/x", Net: "unix"}, "invalid IP"},
		{nil, "invalid IP"},
	} {
		if got := AddrOf(tc.in).String(); got != tc.want {
			t.Errorf("AddrOf(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestAdmitRelease(t *testing.T) {
	s := New[int](slog.New(slog.DiscardHandler), errClosed)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	lim := Limits{Total: 3, PerIP: 2}
	n := 0
	next := func() int { n++; return n }
	for _, tc := range []struct {
		ip   netip.Addr
		want Result
	}{{a, Admitted}, {a, Admitted}, {a, TooMany}, {b, Admitted}, {b, TooMany}} {
		if _, got := s.Admit(tc.ip, lim, next); got != tc.want {
			t.Fatalf("Admit(%v) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if n != 3 {
		t.Fatalf("newConn ran %d times, want 3", n)
	}
	s.Release(1)
	s.Release(1) // a second release frees nothing more
	if _, got := s.Admit(a, lim, next); got != Admitted {
		t.Fatalf("after release: %v", got)
	}
	if _, got := s.Admit(b, lim, next); got != TooMany {
		t.Fatalf("total limit after release: %v", got)
	}
	if conns := s.Close(); len(conns) != 3 {
		t.Fatalf("Close returned %v", conns)
	}
	if _, got := s.Admit(b, Limits{Total: 10, PerIP: 10}, next); got != Closing {
		t.Fatalf("after Close: %v", got)
	}
	for _, c := range []int{2, 3, 4} {
		s.Release(c)
	}
	if !s.Idle() {
		t.Fatal("not idle")
	}
}

var errClosed = errors.New("closed")

func TestServeShutdown(t *testing.T) {
	s := New[net.Conn](slog.New(slog.DiscardHandler), errClosed)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(l, func(raw net.Conn) {
			lim := Limits{Total: 1, PerIP: 1}
			if _, res := s.Admit(AddrOf(raw.RemoteAddr()), lim, func() net.Conn { return raw }); res == TooMany {
				s.Refuse(raw, "full\r\n")
			}
		})
	}()
	first, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(5 * time.Second))
	if l, err := bufio.NewReader(second).ReadString('\n'); l != "full\r\n" {
		t.Fatalf("refusal %q, %v", l, err)
	}
	second.Close()
	for _, c := range s.Close() {
		c.Close()
		s.Release(c)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := s.Serve(l, nil); err != errClosed {
		t.Fatalf("Serve after Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Wait(ctx, func(net.Conn) { t.Error("kill called") }, nil); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestNetworkOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.77", "192.0.2.0/24"},
		{"::ffff:192.0.2.77", "192.0.2.0/24"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	} {
		if got := NetworkOf(netip.MustParseAddr(tc.in)).String(); got != tc.want {
			t.Errorf("NetworkOf(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestAdmitClasses: each limit on its own, with Total 10 of which 2 are
// reserved, 4 per IP and 6 per network.
func TestAdmitClasses(t *testing.T) {
	lim := Limits{Total: 10, PerIP: 4, PerNetwork: 6, Reserved: 2}
	trusted := lim
	trusted.Trusted = true
	type step struct {
		ip      string
		trusted bool
		want    Result
	}
	ok, full := Admitted, TooMany
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"per ip", []step{{"192.0.2.1", false, ok}, {"192.0.2.1", false, ok}, {"192.0.2.1", false, ok}, {"192.0.2.1", false, ok},
			{"192.0.2.1", false, full}, {"192.0.2.2", false, ok}}},
		{"per /24", []step{{"192.0.2.1", false, ok}, {"192.0.2.2", false, ok}, {"192.0.2.3", false, ok}, {"192.0.2.4", false, ok},
			{"192.0.2.5", false, ok}, {"192.0.2.6", false, ok}, {"192.0.2.7", false, full}, {"192.0.3.7", false, ok},
			{"192.0.2.8", true, ok}}}, // trusted: not held to the network's count
		{"per /64", []step{{"2001:db8::1", false, ok}, {"2001:db8::2", false, ok}, {"2001:db8::3", false, ok},
			{"2001:db8::ffff:1", false, ok}, {"2001:db8::ffff:2", false, ok}, {"2001:db8::ffff:3", false, ok},
			{"2001:db8::4", false, full}, {"2001:db8:0:1::4", false, ok}}},
		{"reserve", []step{{"192.0.2.1", false, ok}, {"192.0.2.2", false, ok}, {"192.0.3.1", false, ok}, {"192.0.3.2", false, ok},
			{"198.51.100.1", false, ok}, {"198.51.100.2", false, ok}, {"203.0.113.1", false, ok}, {"203.0.113.2", false, ok},
			{"203.0.113.3", false, full}, // 8 = Total-Reserved: only trusted clients now
			{"127.0.0.1", true, ok}, {"127.0.0.1", true, ok}, {"127.0.0.1", true, full}}},
		{"trusted keep the per-ip cap", []step{{"127.0.0.1", true, ok}, {"127.0.0.1", true, ok}, {"127.0.0.1", true, ok},
			{"127.0.0.1", true, ok}, {"127.0.0.1", true, full}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New[int](slog.New(slog.DiscardHandler), errClosed)
			n := 0
			for i, st := range tc.steps {
				l := lim
				if st.trusted {
					l = trusted
				}
				if _, got := s.Admit(netip.MustParseAddr(st.ip), l, func() int { n++; return n }); got != st.want {
					t.Fatalf("step %d: Admit(%s, trusted=%v) = %v, want %v", i, st.ip, st.trusted, got, st.want)
				}
			}
		})
	}
}

// TestReleaseFreesNetwork: a released connection gives back its network's
// slot as well as its IP's.
func TestReleaseFreesNetwork(t *testing.T) {
	s := New[int](slog.New(slog.DiscardHandler), errClosed)
	lim := Limits{Total: 100, PerIP: 100, PerNetwork: 2}
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	n := 0
	next := func() int { n++; return n }
	s.Admit(a, lim, next)
	s.Admit(a, lim, next)
	if _, got := s.Admit(b, lim, next); got != TooMany {
		t.Fatalf("third from the /24: %v", got)
	}
	s.Release(1)
	if _, got := s.Admit(b, lim, next); got != Admitted {
		t.Fatalf("after a release: %v", got)
	}
	s.Release(2)
	s.Release(3)
	if len(s.perNet) != 0 || len(s.perIP) != 0 {
		t.Fatalf("counts left: %v %v", s.perNet, s.perIP)
	}
}

// TestFloodLeavesRoom: 500 connections from 13 addresses of one /24 are
// held to the per-network limit, and neither a trusted client nor a
// stranger from another network is shut out, even when the strangers'
// share of Total is used up.
func TestFloodLeavesRoom(t *testing.T) {
	s := New[int](slog.New(slog.DiscardHandler), errClosed)
	lim := Limits{Total: 400, PerIP: 50, PerNetwork: 300, Reserved: 20}
	n := 0
	next := func() int { n++; return n }
	admitted := 0
	for i := range 500 {
		ip := netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%13)})
		if _, res := s.Admit(ip, lim, next); res == Admitted {
			admitted++
		}
	}
	if admitted != 300 {
		t.Fatalf("%d of the flood admitted, want the per-network 300", admitted)
	}
	if _, res := s.Admit(netip.MustParseAddr("127.0.0.99"), lim, next); res != TooMany {
		t.Fatalf("another address of the flooding /24: %v", res)
	}
	for i := range 80 { // strangers from other networks fill their share
		ip := netip.AddrFrom4([4]byte{198, 51, byte(i), 1})
		if _, res := s.Admit(ip, lim, next); res != Admitted {
			t.Fatalf("stranger %d: %v", i, res)
		}
	}
	if _, res := s.Admit(netip.MustParseAddr("203.0.113.1"), lim, next); res != TooMany {
		t.Fatalf("a stranger past Total-Reserved: %v", res)
	}
	trusted := lim
	trusted.Trusted = true
	if _, res := s.Admit(netip.MustParseAddr("127.0.0.1"), trusted, next); res != Admitted {
		t.Fatalf("trusted client with only the reserve left: %v", res)
	}
}

func TestGuard(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bad := netip.MustParseAddr("127.0.0.2")
	dropped := make(chan string, 4)
	l := Guard(inner, func(ip netip.Addr) (string, bool) { return "test", ip == bad },
		func(ip netip.Addr, reason string) { dropped <- ip.String() + " " + reason })
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\r\n"))
			c.Close()
		}
	}()
	greeting := func(from string) (string, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return bufio.NewReader(c).ReadString('\n')
	}
	if got, err := greeting("127.0.0.2"); got != "" || err == nil {
		t.Fatalf("blocked client read %q, %v; want nothing and a closed connection", got, err)
	}
	if got := <-dropped; got != "127.0.0.2 test" {
		t.Fatalf("dropped(%s)", got)
	}
	if got, err := greeting("127.0.0.1"); got != "hello\r\n" {
		t.Fatalf("other client read %q, %v", got, err)
	}
	if len(dropped) != 0 {
		t.Fatal("an allowed client was reported dropped")
	}
}
