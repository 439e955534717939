package dnsx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&nameError{msg: "dnsx: MX gmail.com: NXDOMAIN", name: "gmail.com.", qtype: "MX", kind: ErrNotFound},
			"Host or domain name not found. Name service error for name=gmail.com type=MX: Host not found"},
		{&nameError{msg: "x", name: "mx.example", qtype: "A", kind: ErrNotFound, nodata: true},
			"Host or domain name not found. Name service error for name=mx.example type=A: No address associated with hostname"},
		{fmt.Errorf("wrapped: %w", &nameError{msg: "x", name: "example.org", qtype: "MX", kind: ErrTemporary, cause: errors.New("connection refused")}),
			"Host or domain name not found. Name service error for name=example.org type=MX: Host not found, try again"},
		{errors.New("dnsx: something else"), "something else"},
	} {
		if got := Explain(tc.err); got != tc.want {
			t.Errorf("Explain(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	// The kinds stay matchable.
	ne := &nameError{msg: "x", kind: ErrTemporary, cause: errors.New("refused")}
	if !errors.Is(ne, ErrTemporary) || errors.Is(ne, ErrNotFound) {
		t.Error("nameError does not unwrap to its kind")
	}
}

// TestExplainFromResolver: a resolver that cannot be reached gives the
// temporary wording, without the resolver's address or a package name.
func TestExplainFromResolver(t *testing.T) {
	r, err := New([]string{"127.0.0.1:9"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.LookupMX(t.Context(), "remote.example")
	if err == nil {
		t.Fatal("lookup via a closed port succeeded")
	}
	got := Explain(err)
	if got != "Host or domain name not found. Name service error for name=remote.example type=MX: Host not found, try again" {
		t.Errorf("Explain = %q", got)
	}
	if strings.Contains(got, "dnsx") || strings.Contains(got, "127.0.0.1") {
		t.Errorf("Explain leaks internals: %q", got)
	}
}
