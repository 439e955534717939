package store

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeTree writes files (path -> content) under dir; message files get
// mtime 2021-01-02.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	mtime := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(full, mtime, mtime)
	}
	for _, d := range []string{"tmp", ".Work/tmp", ".Empty/cur"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
}

// dovecotTree is a Maildir++ tree as Dovecot leaves it: LF line ends,
// keyword letters, a uidlist whose header lags behind, a v2 subscriptions
// file and localized folder names.
var dovecotTree = map[string]string{
	"cur/1600000001.M1P1.old,S=16,W=18:2,Sa":     "Subject: one\n\nx\n",
	"new/1600000002.M2P1.old,S=16,W=18":          "Subject: two\n\nx\n",
	"cur/1600000003.M3P1.old,S=18,W=20:2,RST":    "Subject: three\n\nx\n",
	"dovecot-uidlist":                            "3 V1234567 N6 Gabc\n5 :1600000001.M1P1.old,S=16,W=18\n7 W18 G1 :1600000002.M2P1.old,S=16,W=18\n",
	"dovecot-keywords":                           "0 $Junk\n1 Work\n",
	"dovecot-uidvalidity":                        "499602d2",
	"subscriptions":                              "V\t2\n\nWork\nWork\t2024\nSpam\n",
	".Work/cur/1600000010.M9P1.old:2,Fb":         "Subject: w\n\nw\r\n",
	".Work/maildirfolder":                        "",
	".Work.2024/new/1600000011.M9P2.old":         "Subject: w24\n\n",
	".Sent Messages/cur/1600000012.M1P3.old:2,S": "Subject: sent\n\n",
	".Sent Messages/dovecot-uidlist":             "3 V777 N3\n2 :1600000012.M1P3.old\n",
	".Deleted Messages/cur/1600000013.M1P4.old":  "x\n",
	".Spam/new/1600000014.M1P5.old":              "y\n",
}

func TestImport(t *testing.T) {
	tests := []struct {
		name        string
		preexisting bool // INBOX has a message before the import
		wantKept    int
	}{
		{"empty mailbox keeps uids", false, 3},
		{"busy inbox gets new uids", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, a := newAccount(t)
			src := t.TempDir()
			writeTree(t, src, dovecotTree)
			if tt.preexisting {
				mustAppend(t, s, a, "INBOX", nil, "before\r\n")
			}
			st, err := s.Import(ctx, a, src)
			if err != nil {
				t.Fatal(err)
			}
			if st.Folders != 7 || st.Messages != 8 || st.KeptUIDs != tt.wantKept {
				t.Fatalf("stats %+v", st)
			}
			msgs, inbox := mustMessages(t, s, a, "INBOX")
			if !tt.preexisting {
				if inbox.UIDValidity != 1234567 || inbox.UIDNext != 9 || !equalInts(msgUIDs(msgs), []int64{5, 7, 8}) {
					t.Fatalf("INBOX %+v uids %v", inbox, msgUIDs(msgs))
				}
				if sent, _ := s.Folder(ctx, a, "Sent Messages"); sent.UIDValidity != 777 || sent.UIDNext != 3 {
					t.Fatalf("Sent Messages %+v", sent)
				}
			} else if !equalInts(msgUIDs(msgs), []int64{1, 2, 3, 4}) {
				t.Fatalf("INBOX uids %v", msgUIDs(msgs))
			}
			byKey := map[string]Msg{}
			for _, m := range msgs {
				byKey[importKey(baseName(m.File))] = m
			}
			wantFlags := map[string][]string{
				"1600000001.M1P1.old": {`$Junk`, `\Seen`},
				"1600000002.M2P1.old": {},
				"1600000003.M3P1.old": {`\Answered`, `\Deleted`, `\Seen`},
			}
			for k, want := range wantFlags {
				m := byKey[k]
				if !reflect.DeepEqual(m.Flags, want) || m.InternalDate.Unix() != time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC).Unix() {
					t.Errorf("%s: %+v, want flags %q", k, m, want)
				}
			}
			f, err := s.OpenMessage(a, "INBOX", byKey["1600000001.M1P1.old"])
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(f)
			f.Close()
			if m := byKey["1600000001.M1P1.old"]; string(b) != "Subject: one\r\n\r\nx\r\n" || m.Size != 19 ||
				!strings.Contains(m.File, ",S=19,W=19") || !strings.HasSuffix(m.File, ":2,S") {
				t.Fatalf("copied %q as %+v", b, m)
			}
			wantFolders := map[string]struct {
				use        string
				subscribed bool
				messages   int64
			}{
				"INBOX": {"", true, int64(len(wantFlags)) + map[bool]int64{true: 1}[tt.preexisting]},
				"Work":  {"", true, 1}, "Work.2024": {"", true, 1}, "Empty": {"", false, 0},
				"Sent Messages": {`\Sent`, false, 1}, "Deleted Messages": {`\Trash`, false, 1}, "Spam": {`\Junk`, true, 1},
				"Sent": {`\Sent`, true, 0}, // not in the source tree: untouched
			}
			for name, w := range wantFolders {
				fi, err := s.Folder(ctx, a, name)
				if err != nil || fi.SpecialUse != w.use || fi.Subscribed != w.subscribed || fi.Messages != w.messages {
					t.Errorf("%s: %+v %v, want %+v", name, fi, err, w)
				}
				checkFilesMatchIndex(t, s, a, name)
			}
			if w, _ := mustMessages(t, s, a, "Work"); !reflect.DeepEqual(w[0].Flags, []string{`\Flagged`}) {
				t.Errorf("Work flags %q (no dovecot-keywords there: letter b is unknown)", w[0].Flags)
			}
			used, n, _ := s.Usage(ctx, a.Username)

			// A second run adds nothing.
			st, err = s.Import(ctx, a, src)
			if err != nil || st.Messages != 0 || st.KeptUIDs != 0 {
				t.Fatalf("second import: %+v, %v", st, err)
			}
			if used2, n2, _ := s.Usage(ctx, a.Username); used2 != used || n2 != n {
				t.Fatalf("second import changed usage %d/%d -> %d/%d", used, n, used2, n2)
			}
			if _, err := s.Recover(ctx, []Account{a}); err != nil {
				t.Fatal(err)
			}
			if msgs2, _ := mustMessages(t, s, a, "INBOX"); len(msgs2) != len(msgs) {
				t.Fatalf("INBOX has %d messages after second import and recover, had %d", len(msgs2), len(msgs))
			}
		})
	}
}

func TestImportNotMaildir(t *testing.T) {
	s, a := newAccount(t)
	if _, err := s.Import(context.Background(), a, t.TempDir()); err == nil {
		t.Fatal("import of an empty directory succeeded")
	}
}

func TestReadUIDList(t *testing.T) {
	tests := []struct {
		name, content  string
		validity, next int64
		uids           map[string]int64
	}{
		{"v3", "3 V10 N4 Gx\n1 :a,S=1\n3 W5 :b:2,S\n", 10, 4, map[string]int64{"a,S=1": 1, "b": 3, "a,S=9": 1}},
		{"v3 lagging next", "3 V10 N1\n8 :a\n", 10, 9, map[string]int64{"a": 8}},
		{"v1", "1 20 5\n2 c\n", 20, 5, map[string]int64{"c": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "dovecot-uidlist")
			os.WriteFile(p, []byte(tt.content), 0o600)
			l, err := readUIDList(p)
			if err != nil {
				t.Fatal(err)
			}
			if l.validity != tt.validity || l.next != tt.next {
				t.Fatalf("validity %d next %d", l.validity, l.next)
			}
			for base, uid := range tt.uids {
				if got := l.uid(base); got != uid {
					t.Errorf("uid(%q) = %d, want %d", base, got, uid)
				}
			}
		})
	}
	p := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(p, []byte("3 N4\n"), 0o600)
	if _, err := readUIDList(p); err == nil {
		t.Fatal("header without V accepted")
	}
}
