package main

import "testing"

func TestNetwork(t *testing.T) {
	both := []listenAddr{{"smtp", "0.0.0.0:25"}, {"smtp", "[::]:25"}, {"imap", "[::]:143"}, {"submission", ":587"}, {"submission", "0.0.0.0:587"}}
	for _, tc := range []struct{ addr, net, out string }{
		{"0.0.0.0:25", "tcp4", "0.0.0.0:25"},
		{"[::]:25", "tcp6", "[::]:25"},
		{":587", "tcp6", "[::]:587"},
		{"[::]:143", "tcp", "[::]:143"}, // alone: dual-stack
		{"127.0.0.1:25", "tcp", "127.0.0.1:25"},
		{"[::1]:25", "tcp", "[::1]:25"},
		{"nonsense", "tcp", "nonsense"},
	} {
		n, a := network(tc.addr, both)
		if n != tc.net || a != tc.out {
			t.Errorf("network(%q) = %s %s, want %s %s", tc.addr, n, a, tc.net, tc.out)
		}
	}
}
