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
	"mailwarden/internal/sqldb"
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
// target folder's watchers get an EventAdded after the commit. It is
// Prepare, then Index in a transaction of its own, then Committed.
func (s *Store) Deliver(ctx context.Context, returnPath string, targets []Target, trace []byte, body Body) ([]Delivered, error) {
	p, err := s.Prepare(ctx, returnPath, targets, trace, body)
	if err != nil {
		return nil, err
	}
	if err := s.db.Batch(ctx, func(tx *sql.Tx) error { return p.Index(ctx, tx) }); err != nil {
		p.Abort()
		return nil, fmt.Errorf("store: index: %w", err)
	}
	return p.Committed(), nil
}

// Pending is a delivery whose files are written and synced but whose
// index rows are not committed: the caller runs Index inside a write
// transaction (which may carry other rows too, such as the queue's, so
// that every copy of a message becomes durable together), then Committed
// when it committed or Abort when it did not. A crash in between leaves
// files without rows, which Recover indexes (a copy that was never
// acknowledged, so at most a duplicate, never a loss).
type Pending struct {
	s       *Store
	targets []Target
	files   []pendingFile
	now     time.Time
	out     []Delivered
}

type pendingFile struct {
	dir, rel string
	size     int64
	cache    *imapmsg.Cache
}

// DB is the database the store's index lives in: a caller that commits
// Pending rows together with others must use this one.
func (s *Store) DB() *sqldb.DB { return s.db }

// Prepare writes one copy per target as Deliver does (files fsync'd and in
// new/, directories fsync'd) without touching the index. A target folder
// other than INBOX must exist in the index (see HasFolder); its directory
// is made when missing.
func (s *Store) Prepare(ctx context.Context, returnPath string, targets []Target, trace []byte, body Body) (*Pending, error) {
	p := &Pending{s: s, targets: targets, files: make([]pendingFile, 0, len(targets)), now: time.Now()}
	for _, t := range targets {
		if err := s.EnsureMailbox(ctx, t.Username, t.Maildir); err != nil {
			p.Abort()
			return nil, err
		}
		root := s.MailboxPath(t.Maildir)
		if t.Folder != "INBOX" {
			if err := s.makeFolderDir(root, t.Folder); err != nil {
				p.Abort()
				return nil, fmt.Errorf("store: deliver to %s: %w", t.Username, err)
			}
		}
		dir := folderDir(root, t.Folder)
		head := "Return-Path: <" + returnPath + ">\r\nDelivered-To: " + t.DeliveredTo + "\r\n"
		// The header is read once, from the first copy: the others differ
		// only in Delivered-To, a field the cache does not keep.
		var tap *headerTap
		if len(p.files) == 0 || strings.ContainsAny(t.DeliveredTo, "\r\n") {
			tap = &headerTap{}
		}
		rel, size, err := s.writeFile(dir, s.uniqueName(p.now), tap, func(w io.Writer) error {
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
			p.Abort()
			return nil, fmt.Errorf("store: deliver to %s: %w", t.Username, err)
		}
		f := pendingFile{dir: dir, rel: rel, size: size}
		if tap != nil {
			f.cache = tap.cache(size)
		} else {
			f.cache = p.files[0].cache
		}
		p.files = append(p.files, f)
	}
	if s.fsync {
		for _, f := range p.files {
			if err := s.dirs.sync(filepath.Join(f.dir, "new")); err != nil {
				p.Abort()
				return nil, fmt.Errorf("store: fsync %s: %w", f.dir, err)
			}
		}
	}
	return p, nil
}

// Index adds the index rows of every copy inside tx (a transaction on
// DB's write side). It may run again after a rolled-back attempt.
func (p *Pending) Index(ctx context.Context, tx *sql.Tx) error {
	out := make([]Delivered, len(p.targets))
	for i, t := range p.targets {
		f := p.files[i]
		uid, modseq, _, err := p.s.insertMessage(ctx, tx, t.Username, t.Folder, f.rel, f.size, p.now.Unix(), "", f.cache)
		if err != nil {
			return fmt.Errorf("store: index %s: %w", t.Username, err)
		}
		out[i] = Delivered{Target: t, UID: uid, ModSeq: modseq, Size: f.size}
	}
	// Other processes' IMAP sessions learn of the copies from mail_change,
	// written in the same transaction.
	for _, ev := range deliveredEvents(out) {
		if err := p.s.noteChange(ctx, tx, ev.Username, ev.Folder, EventAdded, ev.ModSeq); err != nil {
			return err
		}
	}
	p.out = out
	return nil
}

// Committed tells each target folder's watchers about the new messages
// (after Index's transaction committed) and returns the copies.
func (p *Pending) Committed() []Delivered {
	p.s.publishDelivered(p.out)
	return p.out
}

// Abort removes the files of a delivery whose rows were not committed.
func (p *Pending) Abort() {
	for _, f := range p.files {
		os.Remove(filepath.Join(f.dir, f.rel))
	}
	p.files = nil
}

// HasFolder reports whether username has a folder of that name.
func (s *Store) HasFolder(ctx context.Context, username, folder string) (bool, error) {
	_, err := folderID(ctx, s.db.Read, username, folder)
	if errors.Is(err, ErrNoFolder) {
		return false, nil
	}
	return err == nil, err
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
	return s.insertMessageAs(ctx, tx, username, folder, filename, size, date, flags, cache, newObjectID("M"))
}

// insertMessageAs is insertMessage with the message's EMAILID (RFC 8474).
func (s *Store) insertMessageAs(ctx context.Context, tx *sql.Tx, username, folder, filename string, size, date int64, flags string, cache *imapmsg.Cache, emailID string) (uid, modseq, validity int64, err error) {
	if emailID == "" {
		emailID = newObjectID("M")
	}
	var id int64
	err = tx.StmtContext(ctx, s.stmts.nextUID).QueryRowContext(ctx, username, folder).Scan(&id, &uid, &modseq, &validity)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, 0, fmt.Errorf("folder %q of %s: %w", folder, username, ErrNoFolder)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	if _, err = tx.StmtContext(ctx, s.stmts.insertMsg).ExecContext(ctx, id, uid, modseq, size, date, flags, filename, time.Now().Unix(), emailID); err != nil {
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
	nextUID, insertMsg, insertCache, addQuota, noteChange *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{
		{&w.nextUID, `UPDATE mail_folder SET uidnext=uidnext+1, highestmodseq=highestmodseq+1
			WHERE username=? AND name=? RETURNING id, uidnext-1, highestmodseq, uidvalidity`},
		{&w.insertMsg, `INSERT INTO mail_message(folder_id, uid, modseq, size, internal_date, flags, filename, save_date, emailid) VALUES (?,?,?,?,?,?,?,?,?)`},
		{&w.insertCache, insertCacheSQL},
		{&w.addQuota, `UPDATE quota2 SET bytes=bytes+?, messages=messages+1 WHERE username=?`},
		{&w.noteChange, noteChangeSQL},
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
