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

	"mailwarden/internal/imapmsg"
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
// returns. On error no copy is left behind in the index or in new/. Each
// target folder's watchers get an EventAdded after the commit.
func (s *Store) Deliver(ctx context.Context, returnPath string, targets []Target, trace []byte, body Body) ([]Delivered, error) {
	type written struct {
		dir, rel string
		size     int64
		cache    *imapmsg.Cache
	}
	files := make([]written, 0, len(targets))
	cleanup := func() {
		for _, f := range files {
			os.Remove(filepath.Join(f.dir, f.rel))
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
		// The header is read once, from the first copy: the others differ
		// only in Delivered-To, a field the cache does not keep.
		var tap *headerTap
		if len(files) == 0 || strings.ContainsAny(t.DeliveredTo, "\r\n") {
			tap = &headerTap{}
		}
		rel, size, err := s.writeFile(dir, s.uniqueName(now), tap, func(w io.Writer) error {
			if _, err := io.WriteString(w, head); err != nil {
				return err
			}
			if _, err := w.Write(trace); err != nil {
				return err
			}
			_, err := io.Copy(w, body.Reader())
			return err
		}, nil, time.Time{})
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("store: deliver to %s: %w", t.Username, err)
		}
		w := written{dir: dir, rel: rel, size: size}
		if tap != nil {
			w.cache = tap.cache(size)
		} else {
			w.cache = files[0].cache
		}
		files = append(files, w)
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
			uid, modseq, _, err := s.insertMessage(ctx, tx, t.Username, t.Folder, files[i].rel, files[i].size, now.Unix(), "", files[i].cache)
			if err != nil {
				return err
			}
			out[i] = Delivered{Target: t, UID: uid, ModSeq: modseq, Size: files[i].size}
		}
		for _, ev := range deliveredEvents(out) {
			if err := s.noteChange(ctx, tx, ev.Username, ev.Folder, EventAdded, ev.ModSeq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("store: index: %w", err)
	}
	s.publishDelivered(out)
	return out, nil
}

// publishDelivered sends one EventAdded per username and folder.
func (s *Store) publishDelivered(ds []Delivered) {
	for _, ev := range deliveredEvents(ds) {
		s.publish(ev)
	}
}

// deliveredEvents returns one EventAdded per username and folder of ds.
func deliveredEvents(ds []Delivered) []Event {
	type key struct{ user, folder string }
	evs := map[key]*Event{}
	var order []key
	for _, d := range ds {
		k := key{d.Username, d.Folder}
		ev := evs[k]
		if ev == nil {
			ev = &Event{Username: d.Username, Folder: d.Folder, Kind: EventAdded}
			evs[k] = ev
			order = append(order, k)
		}
		ev.UIDs = append(ev.UIDs, d.UID)
		ev.ModSeq = max(ev.ModSeq, d.ModSeq)
	}
	out := make([]Event, len(order))
	for i, k := range order {
		out[i] = *evs[k]
	}
	return out
}

// insertMessage assigns the next UID and MODSEQ of a folder to a new
// message, stores its header cache (unless nil) and counts it against
// the quota. It also returns the folder's UIDVALIDITY (for UIDPLUS).
func (s *Store) insertMessage(ctx context.Context, tx *sql.Tx, username, folder, filename string, size, date int64, flags string, cache *imapmsg.Cache) (uid, modseq, validity int64, err error) {
	var id int64
	err = tx.StmtContext(ctx, s.stmts.nextUID).QueryRowContext(ctx, username, folder).Scan(&id, &uid, &modseq, &validity)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, 0, fmt.Errorf("folder %q of %s: %w", folder, username, ErrNoFolder)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	if _, err = tx.StmtContext(ctx, s.stmts.insertMsg).ExecContext(ctx, id, uid, modseq, size, date, flags, filename); err != nil {
		return 0, 0, 0, err
	}
	if cache != nil {
		env, fields := cacheColumns(*cache)
		if _, err = tx.StmtContext(ctx, s.stmts.insertCache).ExecContext(ctx, id, uid, imapmsg.CacheVersion, size, date, env, fields); err != nil {
			return 0, 0, 0, err
		}
	}
	_, err = tx.StmtContext(ctx, s.stmts.addQuota).ExecContext(ctx, size, username)
	return uid, modseq, validity, err
}

// writeStmts are the statements every new message runs, prepared once
// (New) on the single write connection, so that a delivery parses no
// SQL; database/sql prepares them again should the connection change.
type writeStmts struct {
	nextUID, insertMsg, insertCache, addQuota *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{
		{&w.nextUID, `UPDATE mail_folder SET uidnext=uidnext+1, highestmodseq=highestmodseq+1
			WHERE username=? AND name=? RETURNING id, uidnext-1, highestmodseq, uidvalidity`},
		{&w.insertMsg, `INSERT INTO mail_message(folder_id, uid, modseq, size, internal_date, flags, filename) VALUES (?,?,?,?,?,?,?)`},
		{&w.insertCache, insertCacheSQL},
		{&w.addQuota, `UPDATE quota2 SET bytes=bytes+?, messages=messages+1 WHERE username=?`},
	} {
		var err error
		if *p.st, err = db.PrepareContext(ctx, p.query); err != nil {
			return err
		}
	}
	return nil
}

// uniqueName returns a Dovecot-style unique base name (time, microseconds,
// pid, sequence, host), without the size fields.
func (s *Store) uniqueName(now time.Time) string {
	return strconv.FormatInt(now.Unix(), 10) + ".M" + strconv.Itoa(now.Nanosecond()/1000) + "P" + s.pid + "Q" +
		strconv.FormatUint(s.seq.Add(1), 10) + "." + s.host
}

// sizedName adds S= and W= to a unique name: files are stored with CRLF,
// so both sizes are the same; they let Dovecot and others skip a stat.
func sizedName(unique string, size int64) string {
	sz := strconv.FormatInt(size, 10)
	return unique + ",S=" + sz + ",W=" + sz
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile writes a message with write into tmp/, fsyncs it, sets its
// mtime (the internal date) unless mtime is zero, and renames it into
// new/ (no flags) or cur/ with the Maildir info of flags. It returns the
// path relative to dir and the size. The caller fsyncs the directory.
// tap, unless nil, keeps the header of what is written.
func (s *Store) writeFile(dir, unique string, tap *headerTap, write func(io.Writer) error, flags []string, mtime time.Time) (string, int64, error) {
	tmp := filepath.Join(dir, "tmp", unique)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, err
	}
	fail := func(err error) (string, int64, error) {
		f.Close()
		os.Remove(tmp)
		return "", 0, err
	}
	cw := &countWriter{w: f}
	var w io.Writer = cw
	if tap != nil {
		tap.w = cw
		w = tap
	}
	if err := write(w); err != nil {
		return fail(err)
	}
	if !mtime.IsZero() {
		// Before the fsync, which then makes the new mtime durable too.
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			return fail(err)
		}
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
	rel := fileFor(sizedName(unique, cw.n), flags, false)
	if err := os.Rename(tmp, filepath.Join(dir, rel)); err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	return rel, cw.n, nil
}

// baseName strips the directory and the ":2,FLAGS" info of a Maildir file name.
func baseName(name string) string {
	name = filepath.Base(name)
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name
}
