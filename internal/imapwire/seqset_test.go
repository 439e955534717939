package imapwire

import (
	"reflect"
	"slices"
	"testing"
)

func TestParseSeqSet(t *testing.T) {
	cases := []struct {
		in      string
		want    []SeqRange
		saved   bool
		wantErr bool
	}{
		{in: "1", want: []SeqRange{{1, 1}}},
		{in: "1:*", want: []SeqRange{{1, 0}}},
		{in: "*:3", want: []SeqRange{{0, 3}}},
		{in: "*", want: []SeqRange{{0, 0}}},
		{in: "2,4:7,9,12:*", want: []SeqRange{{2, 2}, {4, 7}, {9, 9}, {12, 0}}},
		{in: "7:2", want: []SeqRange{{7, 2}}},
		{in: "4294967295", want: []SeqRange{{4294967295, 4294967295}}},
		{in: "$", saved: true},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: "1:0", wantErr: true},
		{in: "1:", wantErr: true},
		{in: ":1", wantErr: true},
		{in: "1,", wantErr: true},
		{in: ",1", wantErr: true},
		{in: "1::2", wantErr: true},
		{in: "4294967296", wantErr: true},
		{in: "$,1", wantErr: true},
		{in: "$$", wantErr: true},
		{in: "**", wantErr: true},
		{in: "1:2:3", wantErr: true},
		{in: "a", wantErr: true},
	}
	for _, tc := range cases {
		got, err := ParseSeqSet(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: no error, got %+v", tc.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got.Ranges, tc.want) || got.Saved != tc.saved {
			t.Errorf("%q: got %+v, %v", tc.in, got, err)
		}
		if got.String() != tc.in {
			t.Errorf("%q: String() = %q", tc.in, got.String())
		}
	}
}

func TestSeqSetEval(t *testing.T) {
	cases := []struct {
		set     string
		max     uint32
		want    []uint32
		resolve []SeqRange
	}{
		{"1:*", 5, []uint32{1, 2, 3, 4, 5}, []SeqRange{{1, 5}}},
		{"*:3", 5, []uint32{3, 4, 5}, []SeqRange{{3, 5}}},
		{"*", 5, []uint32{5}, []SeqRange{{5, 5}}},
		{"*", 0, nil, nil},
		{"2,4:7,9", 8, []uint32{2, 4, 5, 6, 7}, []SeqRange{{2, 2}, {4, 7}}},
		{"9:4,2,3,8", 20, []uint32{2, 3, 4, 5, 6, 7, 8, 9}, []SeqRange{{2, 9}}},
		{"100:*", 50, []uint32{50}, []SeqRange{{50, 50}}}, // RFC 9051 6.4.8
		{"100:200", 50, nil, nil},
		{"1:3,2:5", 10, []uint32{1, 2, 3, 4, 5}, []SeqRange{{1, 5}}},
		{"4294967295", 4294967295, []uint32{4294967295}, []SeqRange{{4294967295, 4294967295}}},
	}
	for _, tc := range cases {
		s := set(tc.set)
		got := slices.Collect(s.All(tc.max))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s max %d: All = %v, want %v", tc.set, tc.max, got, tc.want)
		}
		if r := s.Resolve(tc.max); !reflect.DeepEqual(r, tc.resolve) {
			t.Errorf("%s max %d: Resolve = %v, want %v", tc.set, tc.max, r, tc.resolve)
		}
		for n := uint32(0); n <= tc.max+2 && n < 100; n++ {
			if s.Contains(n, tc.max) != slices.Contains(tc.want, n) && n <= tc.max {
				t.Errorf("%s max %d: Contains(%d) = %v", tc.set, tc.max, n, !slices.Contains(tc.want, n))
			}
		}
	}
	// Contains does not clip to max: a UID above the largest one can be
	// in "1:1000" (the server only asks about existing numbers).
	if !set("1:1000").Contains(700, 5) || set("5:*").Contains(7, 6) {
		t.Error("Contains beyond max")
	}
}

func TestSeqSetHelpers(t *testing.T) {
	if s := NewSeqSet(5, 1, 2, 3, 9, 10, 3, 0).String(); s != "1:3,5,9:10" {
		t.Errorf("NewSeqSet = %q", s)
	}
	if s := NewSeqSet().String(); s != "" || !NewSeqSet().IsEmpty() {
		t.Errorf("empty NewSeqSet = %q", s)
	}
	if !set("1:*").Dynamic() || set("1:5").Dynamic() {
		t.Error("Dynamic")
	}
	if !set("1:5,7").InBounds(7) || set("1:5,8").InBounds(7) || !set("1:*").InBounds(1) {
		t.Error("InBounds")
	}
	n := 0
	for range set("1:*").All(1 << 31) {
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Error("All does not stop")
	}
}
