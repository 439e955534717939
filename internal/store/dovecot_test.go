package store

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"mailwarden/internal/testutil"
)

// dovecotInstance is a private Dovecot (no protocols, static userdb) that
// doveadm can work through; the test starts and stops it.
type dovecotInstance struct {
	conf, maildir string
}

func startDovecot(t *testing.T) *dovecotInstance {
	t.Helper()
	d := testutil.StartDovecot(t, testutil.DovecotOptions{
		MailLocation: "maildir:%HOME%/Maildir",
		UserHome:     "%HOME%",
		Extra:        "namespace inbox {\n  inbox = yes\n  separator = .\n}\n",
	})
	return &dovecotInstance{conf: d.Conf, maildir: filepath.Join(d.Home, "Maildir")}
}

// run runs doveadm with stdin and returns its output.
func (d *dovecotInstance) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("doveadm", append([]string{"-c", d.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("doveadm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// table parses doveadm's -f tab output into rows keyed by column name.
func (d *dovecotInstance) table(t *testing.T, args ...string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(d.run(t, "", append([]string{"-f", "tab"}, args...)...), "\n"), "\n")
	var rows []map[string]string
	head := strings.Split(lines[0], "\t")
	for _, l := range lines[1:] {
		row := map[string]string{}
		for i, v := range strings.Split(l, "\t") {
			if i < len(head) {
				row[head[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func TestImportRealDovecot(t *testing.T) {
	d := startDovecot(t)
	u := []string{"-u", "test"}
	d.run(t, "", append([]string{"mailbox", "create"}, append(u, "Work", "Work.2024", "Sent Messages", "Junk")...)...)
	d.run(t, "", append([]string{"mailbox", "subscribe"}, append(u, "INBOX", "Work", "Work.2024")...)...)
	bodies := map[string]string{}
	save := func(mailbox, subject string) {
		body := "Subject: " + subject + "\n\nbody of " + subject + "\n"
		d.run(t, body, append([]string{"save"}, append(u, "-m", mailbox)...)...)
		bodies[subject] = strings.ReplaceAll(body, "\n", "\r\n")
	}
	for _, s := range []string{"one", "two", "three", "four"} {
		save("INBOX", s)
	}
	save("Work.2024", "w1")
	save("Sent Messages", "s1")
	flags := func(op, fl, mailbox, uids string) {
		d.run(t, "", append([]string{"flags", op}, append(u, fl, "mailbox", mailbox, "uid", uids)...)...)
	}
	flags("add", `\Seen $Junk`, "INBOX", "1")
	flags("add", `\Deleted`, "INBOX", "2")
	flags("add", `\Answered \Flagged NonJunk`, "INBOX", "4")
	flags("add", `\Seen`, "Sent Messages", "1")
	d.run(t, "", append([]string{"expunge"}, append(u, "mailbox", "INBOX", "deleted")...)...)

	s, a := newAccount(t)
	ctx := context.Background()
	st, err := s.Import(ctx, a, d.maildir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 5 || st.KeptUIDs != 5 {
		t.Fatalf("stats %+v", st)
	}
	status := d.table(t, append([]string{"mailbox", "status"}, append(u, "uidvalidity uidnext", "*")...)...)
	if len(status) != 5 {
		t.Fatalf("dovecot mailboxes: %v", status)
	}
	for _, row := range status {
		name := row["mailbox"]
		fi, err := s.Folder(ctx, a, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strconv.FormatInt(fi.UIDValidity, 10) != row["uidvalidity"] || strconv.FormatInt(fi.UIDNext, 10) != row["uidnext"] {
			t.Errorf("%s: ours %+v, dovecot %v", name, fi, row)
		}
		msgs, _ := mustMessages(t, s, a, name)
		fetched := d.table(t, append([]string{"fetch"}, append(u, "uid flags", "mailbox", name)...)...)
		if len(fetched) != len(msgs) {
			t.Fatalf("%s: %d messages, dovecot has %d", name, len(msgs), len(fetched))
		}
		for i, m := range fetched {
			var want []string
			for _, f := range strings.Fields(m["flags"]) {
				if f != `\Recent` {
					want = append(want, f)
				}
			}
			want = normFlags(want)
			if strconv.FormatInt(msgs[i].UID, 10) != m["uid"] || !reflect.DeepEqual(msgs[i].Flags, want) {
				t.Errorf("%s: message %+v, dovecot %v", name, msgs[i], m)
			}
			f, err := s.OpenMessage(a, name, msgs[i])
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(f)
			f.Close()
			subject := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(b.String(), "\r\n", 2)[0], "Subject: "), "\r")
			if b.String() != bodies[subject] {
				t.Errorf("%s uid %d: content %q", name, msgs[i].UID, b.String())
			}
		}
	}
	var subscribed []string
	fs, _ := s.ListFolders(ctx, a)
	for _, f := range fs {
		if f.Subscribed {
			subscribed = append(subscribed, f.Name)
		}
	}
	sort.Strings(subscribed)
	// Drafts, Sent and Trash are ours, not in the Dovecot tree: left subscribed.
	if want := []string{"Drafts", "INBOX", "Sent", "Trash", "Work", "Work.2024"}; !reflect.DeepEqual(subscribed, want) {
		t.Errorf("subscribed %q, want %q", subscribed, want)
	}
	if fi, _ := s.Folder(ctx, a, "Sent Messages"); fi.SpecialUse != `\Sent` {
		t.Errorf("Sent Messages special-use %q", fi.SpecialUse)
	}
	if st, err := s.Import(ctx, a, d.maildir); err != nil || st.Messages != 0 {
		t.Fatalf("second import %+v, %v", st, err)
	}
}
