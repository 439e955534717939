package store

import (
	"context"
	"reflect"
	"testing"
)

func TestMessagesByUID(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	var uids []int64
	for range 5 {
		uids = append(uids, mustAppend(t, s, a, "INBOX", []string{`\Seen`}, "m\r\n"))
	}
	mustAppend(t, s, a, "Sent", nil, "other folder\r\n")
	all, _ := mustMessages(t, s, a, "INBOX")
	tests := []struct {
		name string
		ask  []int64
		want []Msg
	}{
		{"none", nil, nil},
		{"one", []int64{uids[2]}, all[2:3]},
		{"sparse", []int64{uids[0], uids[3], uids[4]}, []Msg{all[0], all[3], all[4]}},
		{"unsorted", []int64{uids[4], uids[1]}, []Msg{all[1], all[4]}},
		{"missing", []int64{uids[1], uids[4] + 1, uids[4] + 100}, all[1:2]},
	}
	for _, tt := range tests {
		got, err := s.MessagesByUID(ctx, a, "inbox", tt.ask)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
			t.Fatalf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got, err := s.MessagesByUID(ctx, a, "Nope", uids); err != nil || len(got) != 0 {
		t.Fatalf("missing folder: %+v, %v", got, err)
	}
}
