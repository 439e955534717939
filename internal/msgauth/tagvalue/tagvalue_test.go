package tagvalue

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want List
		err  error
	}{
		{"v=1; a=rsa-sha256", List{{"v", "1"}, {"a", "rsa-sha256"}}, nil},
		{" i=1;\r\n\ta = rsa-sha256 ;d=example.org;", List{{"i", "1"}, {"a", "rsa-sha256"}, {"d", "example.org"}}, nil},
		{"b=abc\r\n\t def; bh=", List{{"b", "abc\r\n\t def"}, {"bh", ""}}, nil},
		{"p=", List{{"p", ""}}, nil},
		{"a_1=x", List{{"a_1", "x"}}, nil},
		{"", nil, ErrSyntax},
		{";", nil, ErrSyntax},
		{"a=1;;b=2", nil, ErrSyntax},
		{"a", nil, ErrSyntax},
		{"1a=x", nil, ErrSyntax},
		{"a b=x", nil, ErrSyntax},
		{"a=\x01", nil, ErrSyntax},
		{"a=1; a=2", nil, ErrDuplicate},
		{"A=1; a=2", List{{"A", "1"}, {"a", "2"}}, nil},
	} {
		got, err := Parse(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Parse(%q) error %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestTooMany(t *testing.T) {
	s := ""
	for i := 0; i <= MaxTags; i++ {
		s += "a" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=1;"
	}
	if _, err := Parse(s); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Parse of %d tags: %v", MaxTags+1, err)
	}
}

func TestStripFWS(t *testing.T) {
	if got := StripFWS("ab c\r\n\td"); got != "abcd" {
		t.Fatalf("StripFWS = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"v=1; a=rsa-sha256; b=abc\r\n def;", "p=", "a=1;;", "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tag := range l {
			if seen[tag.Name] || !validName(tag.Name) || !validValue(tag.Value) {
				t.Fatalf("Parse(%q) gave %q", s, l)
			}
			seen[tag.Name] = true
		}
	})
}
