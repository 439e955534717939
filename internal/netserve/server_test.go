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
