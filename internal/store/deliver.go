package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrOverQuota is returned (wrapped) when a mailbox cannot take a message.
var ErrOverQuota = errors.New("mailbox over quota")

// Body is a message body that can be read more than once.
type Body interface {
	Reader() io.Reader
	Size() int64
}

// Target is one local copy to write.
type Target struct {
	Username    string // mailbox (index key)
	Maildir     string // relative Maildir path of the mailbox
	Folder      string // "INBOX" unless a filter says otherwise
	DeliveredTo string // for the Delivered-To: header
}

// Delivered describes one copy after it became durable.
type Delivered struct {
	Target
	UID    int64
	ModSeq int64
	Size   int64
}

// CheckQuota returns an error wrapping ErrOverQuota when username, whose
// quota is quota bytes (0: unlimited), cannot take size more bytes. With
// size 0 it tells whether the mailbox is already full.
func (s *Store) CheckQuota(ctx context.Context, username string, quota, size int64) error {
	if quota <= 0 {
		return nil
	}
	used, _, err := s.Usage(ctx, username)
	if err != nil {
		return err
	}
	if used+size > quota || (size == 0 && used >= quota) {
		return fmt.Errorf("%s: %d of %d bytes used, message of %d bytes: %w", username, used, quota, size, ErrOverQuota)
	}
	return nil
}

// Deliver writes one copy per target, each starting with Return-Path and
// Delivered-To, then trace, then the body, and makes all of them durable
// (file fsync, rename into new/, directory fsync, index commit) before it
// returns. On error no copy is left behind in the index or in new/.
func (s *Store) Deliver(ctx context.Context, returnPath string, targets []Target, trace []byte, body Body) ([]Delivered, error) {
	type written struct {
		dir, name string
		size      int64
	}
	files := make([]written, 0, len(targets))
	cleanup := func() {
		for _, f := range files {
			os.Remove(filepath.Join(f.dir, "new", f.name))
		}
	}
	now := time.Now()
	for _, t := range targets {
		if err := s.EnsureMailbox(ctx, t.Username, t.Maildir); err != nil {
			cleanup()
			return nil, err
		}
		dir := folderDir(s.MailboxPath(t.Maildir), t.Folder)
		head := "Return-Path: <" + returnPath + ">\r\nDelivered-To: " + t.DeliveredTo + "\r\n"
		name, size, err := s.writeFile(dir, now, head, trace, body)
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("store: deliver to %s: %w", t.Username, err)
		}
		files = append(files, written{dir, name, size})
	}
	if s.fsync {
		for _, f := range files {
			if err := s.dirs.sync(filepath.Join(f.dir, "new")); err != nil {
				cleanup()
				return nil, fmt.Errorf("store: fsync %s: %w", f.dir, err)
			}
		}
	}
	out := make([]Delivered, len(targets))
	err := s.db.Batch(ctx, func(tx *sql.Tx) error {
		for i, t := range targets {
			uid, modseq, err := insertMessage(ctx, tx, t.Username, t.Folder, "new/"+files[i].name, files[i].size, now.Unix(), "")
			if err != nil {
				return err
			}
			out[i] = Delivered{Target: t, UID: uid, ModSeq: modseq, Size: files[i].size}
		}
		return nil
	})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("store: index: %w", err)
	}
	return out, nil
}

// insertMessage assigns the next UID and MODSEQ of a folder to a new
// message and counts it against the quota.
func insertMessage(ctx context.Context, tx *sql.Tx, username, folder, filename string, size, date int64, flags string) (uid, modseq int64, err error) {
	var id int64
	err = tx.QueryRowContext(ctx, `UPDATE mail_folder SET uidnext=uidnext+1, highestmodseq=highestmodseq+1
		WHERE username=? AND name=? RETURNING id, uidnext-1, highestmodseq`, username, folder).Scan(&id, &uid, &modseq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("folder %s of %s does not exist", folder, username)
	}
	if err != nil {
		return 0, 0, err
	}
	if _, err = tx.ExecContext(ctx, `INSERT INTO mail_message(folder_id, uid, modseq, size, internal_date, flags, filename)
		VALUES (?,?,?,?,?,?,?)`, id, uid, modseq, size, date, flags, filename); err != nil {
		return 0, 0, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE quota2 SET bytes=bytes+?, messages=messages+1 WHERE username=?`, size, username)
	return uid, modseq, err
}

// writeFile writes head+trace+body to tmp/, fsyncs it and renames it into
// new/. It returns the file's base name and size.
func (s *Store) writeFile(dir string, now time.Time, head string, trace []byte, body Body) (string, int64, error) {
	size := int64(len(head)) + int64(len(trace)) + body.Size()
	n := s.seq.Add(1)
	// Dovecot-style unique name; S= and W= give the size (stored with CRLF,
	// so both are the same) and let Dovecot and others skip a stat.
	sz := strconv.FormatInt(size, 10)
	name := strconv.FormatInt(now.Unix(), 10) + ".M" + strconv.Itoa(now.Nanosecond()/1000) + "P" + s.pid + "Q" +
		strconv.FormatUint(n, 10) + "." + s.host + ",S=" + sz + ",W=" + sz
	tmp := filepath.Join(dir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, err
	}
	fail := func(err error) (string, int64, error) {
		f.Close()
		os.Remove(tmp)
		return "", 0, err
	}
	if _, err := io.WriteString(f, head); err != nil {
		return fail(err)
	}
	if _, err := f.Write(trace); err != nil {
		return fail(err)
	}
	if _, err := io.Copy(f, body.Reader()); err != nil {
		return fail(err)
	}
	if s.fsync {
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	return name, size, nil
}

// baseName strips the directory and the ":2,FLAGS" info of a Maildir file name.
func baseName(name string) string {
	name = filepath.Base(name)
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name
}
