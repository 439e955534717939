package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"mailwarden/internal/imapmsg"
)

// The header cache (table mail_cache, imapmsg.Cache): per message, the
// IMAP envelope and the header fields clients list messages by, written
// in the transaction that indexes the message, so that FETCH ENVELOPE and
// header searches need not open files. The header is read once, while
// the file is written (headerTap); Copy and Move copy the row; a row
// goes away with its message (foreign key, ON DELETE/UPDATE CASCADE).
// Messages indexed without a row get one from the reader that had to
// open their file (FillCache).

// headerTap passes writes on to w and keeps the message header (the
// lines up to and including the first empty line), at most
// imapmsg.MaxCacheScan octets: the body is not copied.
type headerTap struct {
	w    io.Writer
	buf  []byte
	line int  // start of the line being kept
	done bool // the header ended, or the bound was reached
}

func (t *headerTap) Write(p []byte) (int, error) {
	if !t.done {
		t.keep(p)
	}
	return t.w.Write(p)
}

func (t *headerTap) keep(p []byte) {
	p = p[:min(len(p), imapmsg.MaxCacheScan-len(t.buf))]
	for len(p) > 0 {
		j := bytes.IndexByte(p, '\n')
		if j < 0 {
			t.buf = append(t.buf, p...)
			break
		}
		t.buf = append(t.buf, p[:j+1]...)
		p = p[j+1:]
		if n := len(t.buf) - t.line; n == 1 || (n == 2 && t.buf[t.line] == '\r') {
			t.done = true // the empty line ending the header (imapmsg.HeaderEnd)
			return
		}
		t.line = len(t.buf)
	}
	t.done = len(t.buf) >= imapmsg.MaxCacheScan
}

// cache returns the header cache of the message written, size octets.
func (t *headerTap) cache(size int64) *imapmsg.Cache {
	c := imapmsg.NewCache(t.buf, int64(len(t.buf)) == size)
	return &c
}

// fileCache reads the start of a message file and returns its header
// cache (not valid when the file cannot be read).
func fileCache(path string) *imapmsg.Cache {
	f, err := os.Open(path)
	if err != nil {
		return &imapmsg.Cache{}
	}
	defer f.Close()
	buf := make([]byte, imapmsg.MaxCacheScan)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return &imapmsg.Cache{}
	}
	c := imapmsg.NewCache(buf[:n], n < len(buf))
	return &c
}

// cacheColumns returns the envelope and fields columns of c: NULL, NULL
// when it is not valid; neither NULL nor empty when it is (a valid cache
// has both, never empty: readers tell validity from either).
func cacheColumns(c imapmsg.Cache) (env, fields any) {
	if !c.Valid || len(c.Envelope) == 0 || len(c.Fields) == 0 {
		return nil, nil
	}
	return c.Envelope, c.Fields
}

// insertCache stores the header cache of message uid of a folder, with
// its size and internal date (nothing when c is nil). An existing row is
// replaced.
func insertCache(ctx context.Context, tx *sql.Tx, folderID, uid, size, date int64, c *imapmsg.Cache) error {
	if c == nil {
		return nil
	}
	env, fields := cacheColumns(*c)
	_, err := tx.ExecContext(ctx, insertCacheSQL, folderID, uid, imapmsg.CacheVersion, size, date, env, fields)
	return err
}

const insertCacheSQL = `INSERT INTO mail_cache(folder_id, uid, version, size, internal_date, envelope, fields) VALUES (?,?,?,?,?,?,?)
	ON CONFLICT(folder_id, uid) DO UPDATE SET version=excluded.version, size=excluded.size,
		internal_date=excluded.internal_date, envelope=excluded.envelope, fields=excluded.fields`

// copyCache gives message toUID of folder toID the cache row of message
// fromUID of folder fromID, if it has one.
func copyCache(ctx context.Context, tx *sql.Tx, fromID, fromUID, toID, toUID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_cache(folder_id, uid, version, size, internal_date, envelope, fields)
		SELECT ?, ?, version, size, internal_date, envelope, fields FROM mail_cache WHERE folder_id=? AND uid=?`, toID, toUID, fromID, fromUID)
	return err
}

// CacheFill is a header cache a reader made from the file of a message
// that the index had none for.
type CacheFill struct {
	UID   int64
	Cache imapmsg.Cache
}

// FillCache stores header caches made by readers, in one shared
// transaction; messages expunged meanwhile are skipped.
func (s *Store) FillCache(ctx context.Context, a Account, folder string, fills []CacheFill) error {
	if len(fills) == 0 {
		return nil
	}
	folder, err := canonName(folder)
	if err != nil {
		return err
	}
	err = s.db.Batch(ctx, func(tx *sql.Tx) error {
		id, err := folderID(ctx, tx, a.Username, folder)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO mail_cache(folder_id, uid, version, size, internal_date, envelope, fields)
			SELECT folder_id, uid, ?, size, internal_date, ?, ? FROM mail_message WHERE folder_id=? AND uid=?
			ON CONFLICT(folder_id, uid) DO UPDATE SET version=excluded.version, size=excluded.size,
				internal_date=excluded.internal_date, envelope=excluded.envelope, fields=excluded.fields`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, f := range fills {
			env, fields := cacheColumns(f.Cache)
			if _, err := st.ExecContext(ctx, imapmsg.CacheVersion, env, fields, id, f.UID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: fill header cache of %q of %s: %w", folder, a.Username, err)
	}
	return nil
}

// readCaches reads the header caches (of the current version) of the
// messages uids, sorted, of a folder: the cache parts asked for, with
// the size and internal date for PartSize and PartDate. A cache is valid
// when the blob read is not NULL: both are NULL or neither, and neither
// is empty (cacheColumns).
func readCaches(ctx context.Context, tx *sql.Tx, folderID int64, uids []int64, parts Parts) ([]Msg, error) {
	var m Msg
	var date int64
	var e, f sql.RawBytes
	cols, dest := "uid", []any{&m.UID}
	for _, c := range []struct {
		part Parts
		col  string
		dest any
	}{{PartSize, "size", &m.Size}, {PartDate, "internal_date", &date}, {PartEnvelope, "envelope", &e}, {PartFields, "fields", &f}} {
		if parts&c.part != 0 {
			cols += ", " + c.col
			dest = append(dest, c.dest)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM mail_cache
		WHERE folder_id=? AND uid BETWEEN ? AND ? AND version=? ORDER BY uid`,
		folderID, uids[0], uids[len(uids)-1], imapmsg.CacheVersion)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := min(len(uids), int(uids[len(uids)-1]-uids[0]+1))
	out := make([]Msg, 0, n)
	caches := make([]imapmsg.Cache, 0, n) // Msg.Cache points into it: never grown
	var arena []byte                      // the cached bytes: a few allocations for all
	k := 0
	for rows.Next() {
		m, date, e, f = Msg{}, 0, nil, nil
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for k < len(uids) && uids[k] < m.UID {
			k++
		}
		if k == len(uids) || uids[k] != m.UID || len(caches) == cap(caches) {
			continue
		}
		if parts&PartDate != 0 {
			m.InternalDate = time.Unix(date, 0)
		}
		c := imapmsg.Cache{Valid: e != nil || f != nil}
		if c.Valid {
			if cap(arena)-len(arena) < len(e)+len(f) {
				arena = make([]byte, 0, max(64<<10, len(e)+len(f)))
			}
			c.Envelope, arena = keep(arena, e)
			c.Fields, arena = keep(arena, f)
		}
		caches = append(caches, c)
		m.Cache = &caches[len(caches)-1]
		out = append(out, m)
	}
	return out, rows.Err()
}

// keep copies b, unless nil, to the end of arena, which has room, and
// returns the copy and the arena.
func keep(arena, b []byte) ([]byte, []byte) {
	if b == nil {
		return nil, arena
	}
	i := len(arena)
	arena = append(arena, b...)
	return arena[i:len(arena):len(arena)], arena
}
