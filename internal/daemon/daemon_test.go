package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := Running(dir); ok || err != nil {
		t.Fatalf("Running on a fresh dir = %v, %v", ok, err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	pid, ok, err := Running(dir)
	if !ok || err != nil || pid != os.Getpid() {
		t.Fatalf("Running while held = %d, %v, %v; want %d", pid, ok, err, os.Getpid())
	}
	_, err = Acquire(dir)
	var he *HeldError
	if !errors.As(err, &he) || he.Pid != os.Getpid() {
		t.Fatalf("second Acquire = %v, want HeldError with pid %d", err, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := Running(dir); ok {
		t.Fatal("Running after Release")
	}
	if _, err := os.Stat(PidFile(dir)); err != nil {
		t.Errorf("the pid file is gone after Release (it is never deleted): %v", err)
	}
	l2, err := Acquire(dir) // a stopped server's file is taken over
	if err != nil {
		t.Fatal(err)
	}
	l2.Release()
}

func TestControl(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := time.Now().Truncate(time.Second)
	if err := os.WriteFile(SocketFile(dir), nil, 0o600); err != nil { // a dead server's
		t.Fatal(err)
	}
	err := ServeControl(ctx, dir, func() Status {
		return Status{Pid: 7, Version: "v", Started: started, Conns: map[string]int64{"smtp": 2}, Queue: QueueCounts{Deferred: 3}}
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := Query(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid != 7 || st.Conns["smtp"] != 2 || st.Queue.Deferred != 3 || !st.Started.Equal(started) {
		t.Errorf("Query = %+v", st)
	}
	if fi, err := os.Stat(SocketFile(dir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", fi, err)
	}
	c, err := net.Dial("unix", SocketFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("shutdown\n"))
	buf := make([]byte, 100)
	n, _ := c.Read(buf)
	c.Close()
	if string(buf[:n]) != "{\"error\":\"unknown request\"}\n" {
		t.Errorf("unknown request answered %q", buf[:n])
	}
}

func TestCounted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	cl := Counted(l, &n)
	defer cl.Close()
	go func() {
		c, _ := net.Dial("tcp", l.Addr().String())
		defer c.Close()
		c.Read(make([]byte, 1))
	}()
	c, err := cl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 1 {
		t.Errorf("open = %d, want 1", n.Load())
	}
	c.Close()
	c.Close()
	if n.Load() != 0 {
		t.Errorf("after two Closes open = %d, want 0", n.Load())
	}
}
