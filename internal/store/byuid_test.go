package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestMessagesWith(t *testing.T) {
	ctx := context.Background()
	s, a := newAccount(t)
	var uids []int64
	for range 5 {
		uids = append(uids, mustAppend(t, s, a, "INBOX", []string{`\Seen`}, "Subject: m\r\n\r\n"))
	}
	mustAppend(t, s, a, "Sent", nil, "other folder\r\n")
	all, _ := mustMessages(t, s, a, "INBOX")
	for i := range all { // MessagesWith leaves flags and MODSEQs to the caller
		all[i].Flags, all[i].ModSeq = nil, 0
	}
	// The third message predates the cache, the fourth cannot be cached.
	s.db.Write.Exec(`DELETE FROM mail_cache WHERE uid=?`, uids[2])
	s.db.Write.Exec(`UPDATE mail_cache SET envelope=NULL, fields=NULL WHERE uid=?`, uids[3])
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
		{"all", uids, all},
	}
	for _, parts := range []Parts{PartSize | PartDate, PartEnvelope, PartFields, PartDate | PartEnvelope, PartSize | PartEnvelope | PartFields, PartFile | PartFields} {
		for _, tt := range tests {
			got, err := s.MessagesWith(ctx, a, "inbox", tt.ask, parts)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%s (parts %b): got %+v, want %+v", tt.name, parts, got, tt.want)
			}
			for i, m := range got {
				w := tt.want[i]
				c := m.Cache
				m.Cache = nil
				cached := m.UID != uids[2] && parts&partCache != 0
				switch {
				case !cached && c != nil, cached && (c == nil || c.Valid != (m.UID != uids[3])):
					t.Fatalf("%s (parts %b): UID %d cache %+v", tt.name, parts, m.UID, c)
				case c != nil && c.Valid && ((c.Envelope != nil) != (parts&PartEnvelope != 0) || (c.Fields != nil) != (parts&PartFields != 0)):
					t.Fatalf("%s (parts %b): UID %d cache parts %+v", tt.name, parts, m.UID, c)
				}
				// Served from a valid cache, a message has only what was
				// asked for; others have their file too.
				if c != nil && c.Valid && parts&PartFile == 0 {
					w.File = ""
					if parts&PartSize == 0 {
						w.Size = 0
					}
					if parts&PartDate == 0 {
						w.InternalDate = time.Time{}
					}
				}
				if !reflect.DeepEqual(m, w) {
					t.Fatalf("%s (parts %b): got %+v, want %+v", tt.name, parts, m, w)
				}
			}
		}
		if got, err := s.MessagesWith(ctx, a, "Nope", uids, parts); err != nil || len(got) != 0 {
			t.Fatalf("missing folder: %+v, %v", got, err)
		}
	}
}
