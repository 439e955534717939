package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Table is a Postfix lookup table. Lookup returns the value stored for key
// and whether there was one; an error is a temporary failure (the caller
// answers 4xx, as Postfix does when a table cannot be read).
type Table interface {
	Lookup(ctx context.Context, key string) (value string, found bool, err error)
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Logf receives reload failures (the table keeps its last good
	// content). Nil logs them with log/slog's default logger.
	Logf func(format string, args ...any)
	// ReloadInterval is how often, at most, a file table stats its file
	// to notice changes. Zero means one second; negative never checks.
	ReloadInterval time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// MatchTimeout bounds one match of a pcre: pattern that needs the
	// backtracking engine (look-around, back-references); a match over it
	// fails the lookup (a temporary failure). Zero means
	// DefaultMatchTimeout.
	MatchTimeout time.Duration
}

// MaxFileSize bounds a table file; a larger one is refused rather than
// read into memory.
const MaxFileSize = 256 << 20

// ErrUnsupported is wrapped by Open for a table type Mailwarden does not
// implement (yet).
var ErrUnsupported = errors.New("unsupported table type")

// textTypes read postmap(1) text; Postfix would build an indexed file from
// it, Mailwarden keeps it in a map.
var textTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true, "texthash": true, "dbm": true, "sdbm": true}

// Types lists the table types Open accepts.
func Types() []string {
	return []string{"hash", "btree", "lmdb", "cdb", "texthash", "dbm", "sdbm", "regexp", "pcre", "cidr", "inline", "static", "sqlite", "pgsql", "mysql"}
}

// Open opens a table given in Postfix's "type:name" form, e.g.
// "hash:/etc/postfix/access", "cidr:/etc/postfix/clients.cidr",
// "inline:{ a=b, { c = d e } }" or "static:OK". A "proxy:" prefix is
// accepted and ignored: tables are always read in process.
func Open(spec string, opts Options) (Table, error) {
	typ, name, ok := strings.Cut(spec, ":")
	if !ok || typ == "" {
		return nil, fmt.Errorf("table %q: want type:name", spec)
	}
	if typ == "proxy" {
		return Open(name, opts)
	}
	switch {
	case typ == "static":
		return staticTable(staticValue(name)), nil
	case typ == "inline":
		m, err := parseInline(name)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", spec, err)
		}
		return m, nil
	case textTypes[typ]:
		return openFile(typ, name, opts, func(path string, data []byte) (Table, error) {
			return parseText(path, data)
		})
	case typ == "regexp" || typ == "pcre":
		pcre := typ == "pcre"
		return openFile(typ, name, opts, func(path string, data []byte) (Table, error) {
			return parseRegexp(path, data, pcre, opts.MatchTimeout)
		})
	case typ == "sqlite" || typ == "pgsql" || typ == "mysql":
		return openFile(typ, name, opts, func(path string, data []byte) (Table, error) {
			return openSQL(typ, path, data, opts)
		})
	case typ == "cidr":
		return openFile(typ, name, opts, func(path string, data []byte) (Table, error) {
			return parseCIDR(path, data)
		})
	}
	return nil, fmt.Errorf("table %s: %w %q (supported: %s)", spec, ErrUnsupported, typ, strings.Join(Types(), ", "))
}

// staticTable answers every lookup with one value.
type staticTable string

func (s staticTable) Lookup(context.Context, string) (string, bool, error) {
	return string(s), true, nil
}

// staticValue strips the optional braces of static:{ text }.
func staticValue(name string) string {
	t := strings.TrimSpace(name)
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		return strings.TrimSpace(t[1 : len(t)-1])
	}
	return name
}

// fileTable wraps a table parsed from a file and re-reads the file when
// its inode, size or modification time changes.
type fileTable struct {
	typ, path string
	parse     func(path string, data []byte) (Table, error)
	opts      Options
	interval  time.Duration

	cur       atomic.Pointer[Table]
	nextCheck atomic.Int64 // unix nanoseconds
	mu        sync.Mutex   // serializes reloads
	fi        os.FileInfo  // of the file last read (or tried)
}

// OpenFile opens a table whose file another package parses (a format of
// its own, or stricter checks): parse gets the file's bytes at open and
// again whenever the file changes; a parse error at open is returned, one
// later keeps the last good content and is logged. typ names the table
// in errors.
func OpenFile(typ, path string, opts Options, parse func(path string, data []byte) (Table, error)) (Table, error) {
	return openFile(typ, path, opts, parse)
}

func openFile(typ, path string, opts Options, parse func(string, []byte) (Table, error)) (Table, error) {
	if path == "" {
		return nil, fmt.Errorf("table %s: no file name", typ)
	}
	f := &fileTable{typ: typ, path: path, parse: parse, opts: opts, interval: opts.ReloadInterval}
	if f.interval == 0 {
		f.interval = time.Second
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("table %s:%s: %w", typ, path, err)
	}
	if err := f.load(fi); err != nil {
		return nil, err
	}
	f.nextCheck.Store(f.now().Add(f.interval).UnixNano())
	return f, nil
}

func (f *fileTable) now() time.Time {
	if f.opts.Now != nil {
		return f.opts.Now()
	}
	return time.Now()
}

// load reads and parses the file; on success it becomes the content.
func (f *fileTable) load(fi os.FileInfo) error {
	if fi.Size() > MaxFileSize {
		return fmt.Errorf("table %s:%s: file is %d bytes, over the limit of %d", f.typ, f.path, fi.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("table %s:%s: %w", f.typ, f.path, err)
	}
	t, err := f.parse(f.path, data)
	if err != nil {
		return fmt.Errorf("table %s:%s: %w", f.typ, f.path, err)
	}
	if old := f.cur.Swap(&t); old != nil {
		retire(*old)
	}
	f.fi = fi
	return nil
}

// maybeReload stats the file at most once per interval and re-reads it
// when it changed. A file that vanished or no longer parses keeps the old
// content, as Postfix keeps using the last indexed file.
func (f *fileTable) maybeReload() {
	if f.interval < 0 {
		return
	}
	now := f.now()
	next := f.nextCheck.Load()
	if now.UnixNano() < next || !f.nextCheck.CompareAndSwap(next, now.Add(f.interval).UnixNano()) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		f.logf("table %s:%s: %v (keeping the last content read)", f.typ, f.path, err)
		return
	}
	if sameVersion(fi, f.fi) {
		return
	}
	if err := f.load(fi); err != nil {
		f.logf("%v (keeping the last content read)", err)
		// Do not retry the same broken file on every check.
		f.fi = fi
	}
}

func (f *fileTable) logf(format string, args ...any) {
	if f.opts.Logf != nil {
		f.opts.Logf(format, args...)
		return
	}
	slog.Warn(fmt.Sprintf(format, args...))
}

// sameVersion reports whether two stats of a path show the same file
// content: same inode (a file renamed over it is a new one), size and
// modification time.
func sameVersion(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// retireDelay is how long a replaced table that holds connections (sql:)
// stays open for lookups that already hold it.
const retireDelay = 30 * time.Second

// retire closes a replaced table that holds resources, after lookups
// already running on it are done.
func retire(t Table) {
	if c, ok := t.(io.Closer); ok {
		time.AfterFunc(retireDelay, func() { c.Close() })
	}
}

func (f *fileTable) Lookup(ctx context.Context, key string) (string, bool, error) {
	f.maybeReload()
	return (*f.cur.Load()).Lookup(ctx, key)
}

// String gives the table's spec back.
func (f *fileTable) String() string { return f.typ + ":" + f.path }

// Close releases what the current content holds (the connections of an
// sql: table). A file table that holds nothing closes trivially.
func (f *fileTable) Close() error {
	if c, ok := (*f.cur.Load()).(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Close closes t when it holds resources (sql: tables hold connections);
// other tables need no closing.
func Close(t Table) error {
	if c, ok := t.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
