package mime

import "testing"

func TestAuthServID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mx.example.org; spf=pass", "mx.example.org"},
		{" MX.Example.ORG 1; none", "mx.example.org"},
		{"\r\n (comment (nested)) mx.x.test;dkim=pass", "mx.x.test"},
		{`"quoted.id"; none`, "quoted.id"},
		{"mx.x.test(c); none", "mx.x.test"},
		{"(unterminated", ""},
		{"", ""},
		{`"unterminated`, ""},
	}
	for _, tt := range tests {
		if got := AuthServID(tt.in); got != tt.want {
			t.Errorf("AuthServID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzAuthServID(f *testing.F) {
	for _, s := range []string{"a; b", "(x(y)) z;", `"q\"x";`, "\\("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { AuthServID(s) })
}
