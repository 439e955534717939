package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"mailwarden/internal/config"
)

// listenAddr is one configured address of one service.
type listenAddr struct{ service, addr string }

// listenAddrs are every [listen] address, service by service, in the
// order serve opens them.
func listenAddrs(cfg *config.Config) []listenAddr {
	var out []listenAddr
	for _, s := range []struct {
		name  string
		addrs []string
	}{
		{"smtp", cfg.Listen.SMTP}, {"submission", cfg.Listen.Submission}, {"submissions", cfg.Listen.Submissions},
		{"imap", cfg.Listen.IMAP}, {"imaps", cfg.Listen.IMAPS}, {"pop3", cfg.Listen.POP3}, {"pop3s", cfg.Listen.POP3S},
	} {
		for _, a := range s.addrs {
			out = append(out, listenAddr{s.name, a})
		}
	}
	return out
}

// network is the network to listen on addr with. Go opens every
// wildcard address, "0.0.0.0" included, as one dual-stack IPv6 socket,
// so the usual `smtp = ["0.0.0.0:25", "[::]:25"]` would fail with
// "address already in use": "0.0.0.0" is opened IPv4-only ("tcp4") and,
// when the same port is also listed as "0.0.0.0", "[::]" (or ":25")
// IPv6-only ("tcp6"), as Postfix does with inet_protocols = all.
func network(addr string, all []listenAddr) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp", addr
	}
	switch host {
	case "0.0.0.0":
		return "tcp4", addr
	case "::", "":
		for _, o := range all {
			if h, p, err := net.SplitHostPort(o.addr); err == nil && p == port && h == "0.0.0.0" {
				return "tcp6", net.JoinHostPort("::", port)
			}
		}
	}
	return "tcp", addr
}

// listenTCP opens addr (see network).
func listenTCP(addr string, all []listenAddr) (net.Listener, error) {
	return net.Listen(network(addr, all))
}

// listenHint is what to do about a failed listen.
func listenHint(err error) string {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "another program listens there (see `ss -ltnp`), or the address is listed twice"
	case errors.Is(err, syscall.EACCES):
		return "ports below 1024 need root (serve binds them, then runs as `user`) or CAP_NET_BIND_SERVICE"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no interface of this machine has that address"
	}
	return ""
}

// listenError words a failed listen of la for a person.
func listenError(la listenAddr, err error) error {
	msg := fmt.Sprintf("listen.%s %s: %v", la.service, la.addr, err)
	if h := listenHint(err); h != "" {
		msg += " — " + h
	}
	return errors.New(msg)
}

// boundListener is one open listen address of a service.
type boundListener struct {
	service string
	l       net.Listener
}

type boundListeners []boundListener

// bindAll opens every [listen] address, or none: the first failure closes
// what was opened and is returned in words.
func bindAll(cfg *config.Config) (boundListeners, error) {
	all := listenAddrs(cfg)
	var bs boundListeners
	for _, la := range all {
		l, err := listenTCP(la.addr, all)
		if err != nil {
			bs.closeAll()
			return nil, listenError(la, err)
		}
		bs = append(bs, boundListener{la.service, l})
	}
	return bs, nil
}

func (bs boundListeners) closeAll() {
	for _, b := range bs {
		b.l.Close()
	}
}
