package e2e

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

var msgSeq atomic.Int64

// newMessageID returns a Message-ID no other test message has.
func newMessageID(tag string) string {
	return fmt.Sprintf("<%s.%d.%d@e2e.test>", tag, time.Now().UnixNano(), msgSeq.Add(1))
}

// message builds an RFC 5322 message with CRLF line ends.
func message(from, to, subject, msgID, body string) string {
	h := []string{
		"From: " + from,
		"To: " + to,
		"Subject: " + subject,
		"Date: " + time.Now().Format(time.RFC1123Z),
		"Message-ID: " + msgID,
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=us-ascii",
	}
	body = strings.ReplaceAll(strings.TrimRight(body, "\n"), "\n", "\r\n")
	return strings.Join(h, "\r\n") + "\r\n\r\n" + body + "\r\n"
}

// writeMessage saves msg in the test's dir for swaks --data @file.
func (s *server) writeMessage(msg string) string {
	s.t.Helper()
	f, err := os.CreateTemp(s.Dir, "msg-*.eml")
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(msg); err != nil {
		s.t.Fatal(err)
	}
	return f.Name()
}

// swaksResult is what swaks reported: exit status and the transcript.
type swaksResult struct {
	Code int
	Out  string
}

var queuedAs = regexp.MustCompile(`250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)`)

// QueueID is the id in the final "250 2.0.0 Ok: queued as ID" ("" if none).
func (r swaksResult) QueueID() string {
	m := queuedAs.FindStringSubmatch(r.Out)
	if m == nil {
		return ""
	}
	return m[1]
}

// swaks runs swaks against the server with the given extra arguments.
func (s *server) swaks(args ...string) swaksResult {
	s.t.Helper()
	requireTool(s.t, "swaks")
	full := append([]string{"--timeout", "60", "--helo", "client.e2e.test"}, args...)
	if !slices.Contains(args, "--server") {
		full = append([]string{"--server", s.Addr()}, full...)
	}
	cmd := exec.Command("swaks", full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("swaks: %v", err)
	}
	return swaksResult{Code: code, Out: out.String()}
}

// send delivers msg with swaks and requires success; it returns the
// queue id from the final reply.
func (s *server) send(from, to, msg string, args ...string) string {
	s.t.Helper()
	r := s.swaks(append([]string{"--from", from, "--to", to, "--data", "@" + s.writeMessage(msg)}, args...)...)
	if r.Code != 0 {
		s.t.Fatalf("swaks to %s: exit %d, want 0\n%s", to, r.Code, r.Out)
	}
	id := r.QueueID()
	if id == "" {
		s.t.Fatalf("no \"250 2.0.0 Ok: queued as ID\" in the transcript:\n%s", r.Out)
	}
	return id
}

// mailFile is one message file in a Maildir.
type mailFile struct {
	Path    string
	Rel     string // "new/NAME" or "cur/NAME" relative to the folder dir
	Data    []byte
	Headers mail.Header
}

// folderFiles lists the messages in new/ and cur/ of one Maildir folder.
func folderFiles(t testing.TB, folderDir string) []mailFile {
	t.Helper()
	var files []mailFile
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(folderDir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(folderDir, sub, e.Name())
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f := mailFile{Path: p, Rel: sub + "/" + e.Name(), Data: data}
			if m, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
				f.Headers = m.Header
			}
			files = append(files, f)
		}
	}
	return files
}

// inbox lists the messages in a mailbox's INBOX.
func (s *server) inbox(addr string) []mailFile {
	s.t.Helper()
	return folderFiles(s.t, s.mailDir(addr))
}

// countByMessageID counts the files carrying each Message-ID.
func countByMessageID(files []mailFile) map[string]int {
	n := map[string]int{}
	for _, f := range files {
		n[f.Headers.Get("Message-Id")]++
	}
	return n
}

// findMessage returns the files of a mailbox's INBOX with this Message-ID.
func (s *server) findMessage(addr, msgID string) []mailFile {
	s.t.Helper()
	var out []mailFile
	for _, f := range s.inbox(addr) {
		if f.Headers.Get("Message-Id") == msgID {
			out = append(out, f)
		}
	}
	return out
}

// allMailFiles lists every message file under data_dir/mail.
func (s *server) allMailFiles() []mailFile {
	s.t.Helper()
	var out []mailFile
	root := filepath.Join(s.DataDir, "mail")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "new" || d.Name() == "cur") {
			out = append(out, folderFiles(s.t, filepath.Dir(p))...)
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.t.Fatal(err)
	}
	// folderFiles lists new and cur together: drop the duplicates of the
	// second visit.
	seen := map[string]bool{}
	var uniq []mailFile
	for _, f := range out {
		if !seen[f.Path] {
			seen[f.Path] = true
			uniq = append(uniq, f)
		}
	}
	return uniq
}

// headerLines returns the message's header block as lines, in order.
func headerLines(data []byte) []string {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	if bytes.Equal(head, data) {
		head, _, _ = bytes.Cut(data, []byte("\n\n"))
	}
	return strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
}

// openDB opens the server's SQLite index read-only.
func (s *server) openDB() *sql.DB {
	s.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "mailwarden.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { db.Close() })
	return db
}

// queryStrings runs a query whose rows are one or more text columns,
// each row joined with "|".
func queryStrings(t testing.TB, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkIndex verifies that the SQL index agrees with the Maildir files of
// every mailbox: one mail_message row per file in new/ and cur/ of every
// folder, the row's size equal to the file's, and quota2 equal to the sums.
func (s *server) checkIndex() {
	t := s.t
	t.Helper()
	db := s.openDB()
	boxes := queryStrings(t, db, `SELECT username, maildir FROM mailbox`)
	for _, b := range boxes {
		user, maildir, _ := strings.Cut(b, "|")
		root := filepath.Join(s.DataDir, "mail", filepath.FromSlash(maildir))
		var totalBytes, totalMsgs int64
		folders := queryStrings(t, db, `SELECT id, name FROM mail_folder WHERE username=?`, user)
		if len(folders) == 0 {
			t.Errorf("%s: no mail_folder rows", user)
		}
		for _, fr := range folders {
			id, name, _ := strings.Cut(fr, "|")
			dir := root
			if name != "INBOX" {
				dir = filepath.Join(root, "."+name)
			}
			rows := map[string]int64{}
			for _, r := range queryStrings(t, db, `SELECT filename, size FROM mail_message WHERE folder_id=?`, id) {
				fn, size, _ := strings.Cut(r, "|")
				var n int64
				fmt.Sscan(size, &n)
				rows[fn] = n
			}
			var uidnext, maxUID, hms, maxModseq int64
			if err := db.QueryRow(`SELECT f.uidnext, f.highestmodseq, COALESCE(MAX(m.uid), 0), COALESCE(MAX(m.modseq), 0)
				FROM mail_folder f LEFT JOIN mail_message m ON m.folder_id = f.id WHERE f.id = ? GROUP BY f.id`, id).
				Scan(&uidnext, &hms, &maxUID, &maxModseq); err != nil {
				t.Fatal(err)
			}
			if uidnext <= maxUID || hms < maxModseq {
				t.Errorf("%s/%s: uidnext %d, highestmodseq %d; the messages reach uid %d, modseq %d", user, name, uidnext, hms, maxUID, maxModseq)
			}
			files := folderFiles(t, dir)
			onDisk := map[string]bool{}
			for _, f := range files {
				onDisk[f.Rel] = true
				size, ok := rows[f.Rel]
				if !ok {
					t.Errorf("%s/%s: file %s has no mail_message row", user, name, f.Rel)
					continue
				}
				if size != int64(len(f.Data)) {
					t.Errorf("%s/%s: row for %s says size %d, file has %d bytes", user, name, f.Rel, size, len(f.Data))
				}
			}
			for fn, size := range rows {
				if !onDisk[fn] {
					t.Errorf("%s/%s: mail_message row %s has no file", user, name, fn)
				}
				totalBytes += size
				totalMsgs++
			}
		}
		var qb, qm int64
		if err := db.QueryRow(`SELECT bytes, messages FROM quota2 WHERE username=?`, user).Scan(&qb, &qm); err != nil {
			t.Errorf("%s: quota2: %v", user, err)
			continue
		}
		if qb != totalBytes || qm != totalMsgs {
			t.Errorf("%s: quota2 says %d bytes in %d messages; the index holds %d bytes in %d messages", user, qb, qm, totalBytes, totalMsgs)
		}
	}
}

// smtpDial opens a Go net/smtp client from the given local address
// ("" = any) and says EHLO.
func smtpDial(addr, localIP string) (*smtp.Client, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	c, err := smtp.NewClient(conn, "mx.test.example")
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.Hello("client.e2e.test"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// sendOn runs one mail transaction on an open client.
func sendOn(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("RCPT %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return fmt.Errorf("DATA body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

// readFileOr returns a file's contents, failing the test if it is missing.
func readFileOr(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replyOf returns the SMTP reply code and text carried by a net/smtp error
// (0 when err is not an SMTP reply).
func replyOf(err error) (int, string) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg
	}
	return 0, ""
}
